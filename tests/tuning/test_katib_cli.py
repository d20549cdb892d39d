"""`kale-ext tune NOTEBOOK --backend katib` and `kale-ext experiments show` of a Katib experiment, through the CLI:
the example notebook's Experiment emitted, created against the loopback fake Kubernetes API, shown from the cluster's
status; bad input exits 2 with one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from kale_ext.cli import main
from kale_ext.tuning.katib_rules import job_schema_problems, validate_experiment

from .katib_helpers import FakeKatibKube
from .objective import write_objective

pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install 'kale-ext[kfp]')")
pytest.importorskip("kubernetes", reason="the kubernetes client is not installed (pip install 'kale-ext[kserve]')")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "svm_tuning.ipynb"


@pytest.fixture
def nb(tmp_path, monkeypatch):
    monkeypatch.setenv("KALE_EXT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "svm_tuning.ipynb"
    shutil.copy(EXAMPLE, path)
    return str(path)


def test_the_example_notebooks_experiment_is_emitted_with_the_command_lines_overrides(nb, tmp_path, capsys):
    out = tmp_path / "svm.yaml"
    code = main(
        [
            "tune",
            nb,
            "--backend",
            "katib",
            "--emit",
            str(out),
            "--namespace",
            "team-a",
            "--max-trials",
            "20",
            "--parallel",
            "4",
            "--algorithm",
            "bayesianoptimization",
            "--seed",
            "11",
            "--image",
            "registry.example/team/trial:1",
        ]
    )
    assert code == 0, capsys.readouterr().err
    configmap, exp = yaml.safe_load_all(out.read_text())
    [container] = exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example/team/trial:1", "--image sets the trial container's image"
    assert validate_experiment(exp) == [] and job_schema_problems(exp) == []
    spec = exp["spec"]
    assert [p["name"] for p in spec["parameters"]] == ["C", "gamma"]
    assert spec["objective"] == {"type": "maximize", "objectiveMetricName": "accuracy"}
    assert (spec["maxTrialCount"], spec["parallelTrialCount"]) == (20, 4)
    assert spec["algorithm"] == {
        "algorithmName": "bayesianoptimization",
        "algorithmSettings": [{"name": "random_state", "value": "11"}],
    }
    ir = next(yaml.safe_load_all(configmap["data"]["pipeline.yaml"]))
    assert {"C", "gamma"} <= set(ir["root"]["inputDefinitions"]["parameters"])


def test_automl_emits_the_families_stage_of_the_example(nb, tmp_path, capsys):
    out = tmp_path / "families.json"
    assert main(["tune", nb, "--backend", "katib", "--automl", "--emit", str(out), "--namespace", "team-a"]) == 0
    exp = json.loads(out.read_text())["items"][1]
    assert exp["spec"]["parameters"] == [
        {"name": "model_family", "parameterType": "categorical", "feasibleSpace": {"list": ["svm", "logreg", "rf"]}}
    ]
    assert exp["spec"]["maxTrialCount"] == 3 and validate_experiment(exp) == []


def test_created_on_the_cluster_then_shown_from_its_status(nb, tmp_path, monkeypatch, capsys):
    with FakeKatibKube() as kube:
        monkeypatch.setenv("KUBECONFIG", kube.kubeconfig(tmp_path / "kubeconfig"))
        assert main(["tune", nb, "--backend", "katib"]) == 0
        printed = capsys.readouterr().out
        experiment_id = printed.rsplit(" ", 1)[-1].strip()
        (post,) = [r for r in kube.calls("POST") if r["path"].endswith("/experiments")]
        name = post["body"]["metadata"]["name"]
        assert f"team-a/{name}" in printed
        kube.status = {
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "ExperimentMaxTrialsReached"}],
            "currentOptimalTrial": {
                "bestTrialName": f"{name}-x",
                "parameterAssignments": [{"name": "C", "value": "3.5"}, {"name": "gamma", "value": "0.01"}],
                "observation": {"metrics": [{"name": "accuracy", "min": "0.97", "max": "0.97", "latest": "0.97"}]},
            },
        }
        kube.trials = [
            {
                "metadata": {"name": f"{name}-x", "creationTimestamp": "2026-12-02T00:00:01Z"},
                "spec": {"parameterAssignments": [{"name": "C", "value": "3.5"}, {"name": "gamma", "value": "0.01"}]},
                "status": {
                    "conditions": [{"type": "Succeeded", "status": "True"}],
                    "observation": {"metrics": [{"name": "accuracy", "min": "0.97", "max": "0.97", "latest": "0.97"}]},
                },
            }
        ]
        assert main(["experiments", "show", experiment_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["runner"] == "katib" and shown["external_id"] == f"team-a/{name}"
    assert shown["status"] == "succeeded" and shown["reason"] == "maxTrialCount reached"
    assert shown["best"]["parameters"] == {"C": 3.5, "gamma": 0.01} and shown["best"]["objective"] == 0.97
    assert [(t["trial"], t["status"], t["objective"]) for t in shown["trials"]] == [(1, "succeeded", 0.97)]


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["--namespace", "Team_A", "--emit", "x.yaml"], "is not a Kubernetes namespace name"),
        ([], "no Kubernetes configuration"),
        (["--max-trials", "0", "--emit", "x.yaml"], "maxTrialCount"),
    ],
)
def test_bad_input_exits_2_with_one_line(nb, capsys, argv, phrase):
    assert main(["tune", nb, "--backend", "katib", *argv]) == 2
    err = capsys.readouterr().err
    assert phrase in err and len(err.strip().splitlines()) == 1


def test_a_grid_with_more_trials_than_points_is_refused_for_katib(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KALE_EXT_HOME", str(tmp_path / "home"))
    nb = write_objective(tmp_path)  # a grid over 5 x 4 points
    out = tmp_path / "grid.yaml"
    assert (
        main(["tune", nb, "--backend", "katib", "--emit", str(out), "--namespace", "team-a", "--max-trials", "21"]) == 2
    )
    err = capsys.readouterr().err
    assert "maxTrialCount 21" in err and "20 points" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert (
        main(["tune", nb, "--backend", "katib", "--emit", str(out), "--namespace", "team-a", "--max-trials", "20"]) == 0
    )
