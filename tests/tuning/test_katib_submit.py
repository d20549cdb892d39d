"""``tune --backend katib``: the manifests emitted to a file, or created with the real kubernetes client against a
loopback fake API server (requests recorded), recorded in the run store, and read back by refresh in the shape of local
experiments (status, best trial, trials); AutoML's two stages; faults as one-line errors."""

from __future__ import annotations

import argparse
import json

import pytest
import yaml

from kale_ext.errors import KaleError
from kale_ext.store import Store, store_dir_for
from kale_ext.tuning import katib_submit
from kale_ext.tuning.katib_rules import validate_experiment

from .katib_helpers import FakeKatibKube, automl_spec, small_notebook, small_spec

pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install 'kale-ext[kfp]')")
pytest.importorskip("kubernetes", reason="the kubernetes client is not installed (pip install 'kale-ext[kserve]')")


@pytest.fixture
def nb(tmp_path, monkeypatch):
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)
    path = small_notebook(tmp_path / "small.ipynb")
    from kale_ext.analysis import analyze
    from kale_ext.notebook import load_notebook, pipeline_name_for

    return path, analyze(load_notebook(path), name=pipeline_name_for(path))


@pytest.fixture
def kube(tmp_path, monkeypatch):
    with FakeKatibKube() as fake:
        monkeypatch.setenv("KUBECONFIG", fake.kubeconfig(tmp_path / "kubeconfig"))
        yield fake


def args(**kw):
    return argparse.Namespace(**{"emit": None, "namespace": None, "image": None, "automl": False, **kw})


def experiments(path):
    return Store(store_dir_for(path)).list_experiments()


def test_emit_writes_the_configmap_and_the_experiment_as_yaml_and_records_nothing(nb, tmp_path, capsys):
    path, pipeline = nb
    out = tmp_path / "out" / "tune.yaml"
    assert (
        katib_submit.submit(args(emit=str(out), namespace="team-b", image="reg/trial:1"), path, small_spec(), pipeline)
        == 0
    )
    configmap, exp = yaml.safe_load_all(out.read_text())
    assert configmap["kind"] == "ConfigMap" and configmap["metadata"]["namespace"] == "team-b"
    ir = next(yaml.safe_load_all(configmap["data"]["pipeline.yaml"]))  # the compiled IR (its first document)
    assert isinstance(ir, dict) and "root" in ir
    assert exp["kind"] == "Experiment" and validate_experiment(exp) == []
    assert exp["metadata"]["name"].startswith("small-tune-") and len(exp["metadata"]["name"]) <= 40
    trial = exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    assert trial["image"] == "reg/trial:1"
    assert exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["volumes"][0]["configMap"] == {
        "name": configmap["metadata"]["name"]
    }
    assert str(out) in capsys.readouterr().out
    assert experiments(path) == []


def test_the_notebooks_katib_settings_choose_image_kfp_host_experiment_and_service_account(tmp_path):
    from kale_ext.analysis import analyze
    from kale_ext.notebook import load_notebook, pipeline_name_for

    settings = {
        "image": "reg/trial:2",
        "kfp_host": "http://kfp.example:80",
        "kfp_experiment": "hpo",
        "service_account": "runner",
    }
    path = small_notebook(tmp_path / "nb.ipynb", own={"katib": settings})
    pipeline = analyze(load_notebook(path), name=pipeline_name_for(path))
    out = tmp_path / "tune.yaml"
    katib_submit.submit(args(emit=str(out), namespace="team-b"), path, small_spec(), pipeline)
    _, exp = yaml.safe_load_all(out.read_text())
    pod = exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert pod["containers"][0]["image"] == "reg/trial:2" and pod["serviceAccountName"] == "runner"
    assert env["KF_PIPELINES_ENDPOINT"] == "http://kfp.example:80" and env["KALE_KFP_EXPERIMENT"] == "hpo"
    katib_submit.submit(args(emit=str(out), namespace="team-b", image="reg/cli:3"), path, small_spec(), pipeline)
    _, exp = yaml.safe_load_all(out.read_text())
    assert (
        exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["image"] == "reg/cli:3"
    )


def test_emit_json_writes_one_v1_list(nb, tmp_path):
    path, pipeline = nb
    out = tmp_path / "tune.json"
    assert katib_submit.submit(args(emit=str(out), namespace="team-b"), path, small_spec(), pipeline) == 0
    doc = json.loads(out.read_text())
    assert doc["kind"] == "List" and [i["kind"] for i in doc["items"]] == ["ConfigMap", "Experiment"]


def test_submit_creates_both_objects_with_the_kubernetes_client_and_records_the_experiment(nb, kube, capsys):
    path, pipeline = nb
    assert katib_submit.submit(args(), path, small_spec(seed=4), pipeline) == 0
    posts = kube.calls("POST")
    assert [r["path"] for r in posts] == [
        "/api/v1/namespaces/team-a/configmaps",  # the kubeconfig context's namespace
        "/apis/kubeflow.org/v1beta1/namespaces/team-a/experiments",
    ]
    configmap, exp = posts[0]["body"], posts[1]["body"]
    assert validate_experiment(exp) == []
    assert exp["spec"]["algorithm"]["algorithmSettings"] == [{"name": "random_state", "value": "4"}]
    (patch,) = kube.calls("PATCH")
    assert patch["path"] == f"/api/v1/namespaces/team-a/configmaps/{configmap['metadata']['name']}"
    assert patch["body"]["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Experiment",
            "name": exp["metadata"]["name"],
            "uid": f"uid-experiments-{exp['metadata']['name']}",
        }
    ]
    assert all(r["authorized"] for r in kube.requests)
    (recorded,) = experiments(path)
    assert recorded["runner"] == "katib" and recorded["external_id"] == f"team-a/{exp['metadata']['name']}"
    assert recorded["status"] == "running" and recorded["spec"]["parameters"] == exp["spec"]["parameters"]
    assert exp["metadata"]["name"] in capsys.readouterr().out


def trial_cr(name, created, conditions, assignments, metrics=None):
    status = {"conditions": [{"type": c, "status": "True"} for c in conditions]}
    if metrics is not None:
        status["observation"] = {"metrics": metrics}
        status["completionTime"] = "2026-12-02T00:10:00Z"
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Trial",
        "metadata": {"name": name, "creationTimestamp": created, "labels": {"katib.kubeflow.org/experiment": "x"}},
        "spec": {"parameterAssignments": [{"name": k, "value": v} for k, v in assignments.items()]},
        "status": status,
    }


def metric(name, best, latest=None):
    return {"name": name, "min": str(best), "max": str(best), "latest": str(latest if latest is not None else best)}


def test_refresh_reads_status_best_trial_and_trials_from_the_cluster(nb, kube):
    path, pipeline = nb
    katib_submit.submit(args(namespace="team-a"), path, small_spec(), pipeline)
    (recorded,) = experiments(path)
    name = recorded["external_id"].split("/")[1]
    kube.status = {
        "conditions": [
            {"type": "Created", "status": "True", "reason": "ExperimentCreated"},
            {"type": "Running", "status": "False", "reason": "ExperimentRunning"},
            {"type": "Succeeded", "status": "True", "reason": "ExperimentGoalReached"},
        ],
        "completionTime": "2026-12-02T00:20:00Z",
        "currentOptimalTrial": {
            "bestTrialName": f"{name}-b",
            "parameterAssignments": [{"name": "RATE", "value": "1.5"}, {"name": "ROUNDS", "value": "7"}],
            "observation": {"metrics": [metric("score", 10.2), metric("loss", 0.098)]},
        },
    }
    kube.trials = [
        trial_cr(f"{name}-c", "2026-12-02T00:03:00Z", ["Created", "Failed"], {"RATE": "0.2", "ROUNDS": "1"}, []),
        trial_cr(
            f"{name}-a",
            "2026-12-02T00:01:00Z",
            ["Created", "Succeeded"],
            {"RATE": "0.5", "ROUNDS": "3"},
            [metric("score", 1.22), metric("loss", 0.82)],
        ),
        trial_cr(
            f"{name}-b",
            "2026-12-02T00:02:00Z",
            ["Created", "Succeeded"],
            {"RATE": "1.5", "ROUNDS": "7"},
            [metric("score", 10.2), metric("loss", 0.098)],
        ),
        trial_cr(
            f"{name}-d",
            "2026-12-02T00:04:00Z",
            ["Created", "MetricsUnavailable"],
            {"RATE": "0.9", "ROUNDS": "2"},
            [{"name": "score", "min": "unavailable", "max": "unavailable", "latest": "unavailable"}],
        ),
        trial_cr(f"{name}-e", "2026-12-02T00:05:00Z", ["Created", "Running"], {"RATE": "0.3", "ROUNDS": "5"}),
    ]
    store = Store(store_dir_for(path))
    for _ in range(2):  # a second refresh updates the same trials
        out = katib_submit.refresh(store, recorded)
    assert out["status"] == "succeeded" and out["reason"] == "goal reached" and out["finished"]
    assert out["best"] == {
        "trial": 2,
        "run_id": None,
        "katib_trial": f"{name}-b",
        "parameters": {"RATE": 1.5, "ROUNDS": 7},
        "objective": 10.2,
    }
    got = [(t["trial"], t["katib_trial"], t["status"], t["parameters"], t["objective"]) for t in out["trials"]]
    assert got == [
        (1, f"{name}-a", "succeeded", {"RATE": 0.5, "ROUNDS": 3}, 1.22),
        (2, f"{name}-b", "succeeded", {"RATE": 1.5, "ROUNDS": 7}, 10.2),
        (3, f"{name}-c", "failed", {"RATE": 0.2, "ROUNDS": 1}, None),
        (4, f"{name}-d", "failed", {"RATE": 0.9, "ROUNDS": 2}, None),
        (5, f"{name}-e", "running", {"RATE": 0.3, "ROUNDS": 5}, None),
    ]
    assert out["trials"][0]["metrics"] == {"score": 1.22, "loss": 0.82}
    listings = [r for r in kube.requests if r["path"].endswith("/trials")]
    assert len(listings) == 2 and listings[-1]["query"] == {"labelSelector": f"katib.kubeflow.org/experiment={name}"}
    assert store.get_experiment(recorded["experiment_id"])["status"] == "succeeded"


def test_a_failed_experiment_reads_failed_with_katibs_message(nb, kube):
    path, pipeline = nb
    katib_submit.submit(args(namespace="team-a"), path, small_spec(), pipeline)
    (recorded,) = experiments(path)
    kube.status = {
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "ExperimentFailed",
                "message": "Experiment has failed because max failed count has reached",
            }
        ]
    }
    out = katib_submit.refresh(Store(store_dir_for(path)), recorded)
    assert (out["status"], out["reason"], out["best"]) == ("failed", "too many failed trials", None)
    assert "max failed count" in out["error"]


def test_automl_emits_the_families_stage_then_the_best_familys_tuning_stage(nb, kube, tmp_path):
    path, pipeline = nb
    spec = automl_spec()
    first = tmp_path / "families.yaml"
    katib_submit.submit(args(emit=str(first), automl=True), path, spec, pipeline)
    _, exp = yaml.safe_load_all(first.read_text())
    assert exp["spec"]["parameters"] == [
        {"name": "FAMILY", "parameterType": "categorical", "feasibleSpace": {"list": ["lin", "sq"]}}
    ]
    assert exp["spec"]["algorithm"]["algorithmName"] == "grid" and exp["spec"]["maxTrialCount"] == 2
    assert validate_experiment(exp) == []
    # Created on the cluster, it finishes with one trial per family; sq is the better one.
    katib_submit.submit(args(automl=True), path, spec, pipeline)
    (stage1,) = experiments(path)
    assert stage1["spec"]["automl"]["stage"] == "families"
    kube.status = {"conditions": [{"type": "Succeeded", "status": "True", "reason": "ExperimentSuggestionEndReached"}]}
    kube.trials = [
        trial_cr("f-1", "2026-12-02T00:01:00Z", ["Succeeded"], {"FAMILY": "lin"}, [metric("score", 1.2)]),
        trial_cr("f-2", "2026-12-02T00:02:00Z", ["Succeeded"], {"FAMILY": "sq"}, [metric("score", 1.7)]),
    ]
    second = tmp_path / "tune.yaml"
    katib_submit.submit(args(emit=str(second), automl=True), path, spec, pipeline)
    _, exp2 = yaml.safe_load_all(second.read_text())
    assert [p["name"] for p in exp2["spec"]["parameters"]] == ["ROUNDS"]  # sq's own hyperparameter
    assert exp2["spec"]["maxTrialCount"] == 6  # 8 less the 2 first-stage trials
    env = {
        e["name"]: e.get("value")
        for e in exp2["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["KALE_PARAM_FAMILY"] == "sq" and env["KALE_PARAM_ROUNDS"] == "${trialParameters.ROUNDS}"
    assert validate_experiment(exp2) == []
    stored = Store(store_dir_for(path)).get_experiment(stage1["experiment_id"])
    assert stored["automl"] == {"best_family": "sq", "families": {"lin": 1.2, "sq": 1.7}}
    # Created too, the second stage's result names the family it tunes and the first stage's objectives.
    katib_submit.submit(args(automl=True), path, spec, pipeline)
    stage2 = next(e for e in experiments(path) if e["spec"]["automl"]["stage"] == "tune")
    assert stage2["spec"]["automl"]["fixed"] == {"FAMILY": "sq"}
    kube.trials = [trial_cr("t-1", "2026-12-02T00:03:00Z", ["Succeeded"], {"ROUNDS": "6"}, [metric("score", 4.2)])]
    out = katib_submit.refresh(Store(store_dir_for(path)), stage2)
    assert out["automl"] == {"best_family": "sq", "families": {"lin": 1.2, "sq": 1.7}}
    assert out["trials"][0]["parameters"] == {"FAMILY": "sq", "ROUNDS": 6}


def test_automl_takes_the_best_family_of_a_finished_local_first_stage(nb, tmp_path):
    path, pipeline = nb
    store = Store(store_dir_for(path))
    store.create_experiment(experiment_id="local-1", notebook=path, name="small", spec={"automl": {}})
    store.update_experiment(
        "local-1", status="succeeded", result={"automl": {"best_family": "lin", "families": {"lin": 2.0, "sq": 1.0}}}
    )
    out = tmp_path / "tune.yaml"
    katib_submit.submit(args(emit=str(out), automl=True), path, automl_spec(), pipeline)
    _, exp = yaml.safe_load_all(out.read_text())
    assert [p["name"] for p in exp["spec"]["parameters"]] == ["RATE"]
    env = exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "KALE_PARAM_FAMILY", "value": "lin"} in env


@pytest.mark.parametrize(
    ("setup", "phrase"),
    [
        (lambda k: k.fail.update({("POST", "experiments"): 409}), "exists already"),
        (lambda k: k.fail.update({("POST", "experiments"): 404}), "Katib (its Experiment CRD) is not installed"),
        (lambda k: k.fail.update({("POST", "configmaps"): 403}), "namespace you may use"),
        (lambda k: setattr(k, "token", "other"), "refused the credentials"),
    ],
)
def test_cluster_faults_are_one_line_errors(nb, kube, setup, phrase):
    path, pipeline = nb
    setup(kube)
    with pytest.raises(KaleError) as err:
        katib_submit.submit(args(), path, small_spec(), pipeline)
    assert phrase in err.value.message and "\n" not in err.value.message
    assert experiments(path) == []
    if ("POST", "experiments") in kube.fail:  # the ConfigMap made for it is removed again
        assert [r["method"] for r in kube.requests] == ["POST", "POST", "DELETE"]


def test_an_unreachable_cluster_and_bad_input_are_one_line_errors(nb, kube, tmp_path):
    path, pipeline = nb
    kube.__exit__()
    with pytest.raises(KaleError, match="cannot reach the cluster's API server"):
        katib_submit.submit(args(), path, small_spec(), pipeline)
    with pytest.raises(KaleError, match="is not a Kubernetes namespace name"):
        katib_submit.submit(args(namespace="Team_A"), path, small_spec(), pipeline)
    (tmp_path / "file").write_text("")
    with pytest.raises(KaleError, match="cannot write"):
        katib_submit.submit(args(emit=str(tmp_path / "file" / "x.yaml")), path, small_spec(), pipeline)
    with pytest.raises(KaleError, match="--automl needs the notebook's model families"):
        katib_submit.submit(args(emit=str(tmp_path / "x.yaml"), automl=True), path, small_spec(), pipeline)


@pytest.mark.parametrize("pipeline_name", ["small-tune", "9-lives", "Ünïcode pipeline", "x" * 80, "---"])
def test_experiment_names_are_katib_names(pipeline_name):
    from kale_ext.tuning.katib_rules import DNS_1035

    for stage in (None, "families", "tune"):
        name = katib_submit.experiment_name(pipeline_name, stage)
        assert DNS_1035.fullmatch(name) and len(name) <= 40, name
