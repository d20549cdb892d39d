"""The Katib trial's program against the loopback fake KFP API with the real kfp.Client: it creates the run with the
trial's typed values, polls it, downloads the Metrics artifact and prints what Katib's StdOut collector reads."""

from __future__ import annotations

import json

import pytest
import yaml

from kale_ext.runners.kfp.entry import log_metrics
from kale_ext.tuning import katib, katib_trial

from .katib_helpers import collect, compiled, small_notebook

pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install 'kale-ext[kfp]')")
TOKEN = "secret-token"
METRICS = ["score", "loss"]


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trial")
    result = compiled(small_notebook(folder / "small.ipynb"))[1]
    path = folder / "pipeline.yaml"
    path.write_text(result.yaml)
    return str(path), katib.package_sha256(result.yaml), result.yaml


@pytest.fixture
def kfp_fake(request):
    from .katib_fake_kfp import MetricsKfp

    options = getattr(request, "param", {})
    fake = MetricsKfp(token=TOKEN, metrics={"score": 1.5, "loss": 2 / 3, "other": 9.0}, **options).start()
    yield fake
    fake.stop()


@pytest.fixture
def trial_env(monkeypatch, tmp_path, kfp_fake):
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    for key, value in {
        "KF_PIPELINES_ENDPOINT": kfp_fake.url,
        "KF_PIPELINES_SA_TOKEN_PATH": str(token),
        katib.ENV_TRIAL_NAME: "small-tune-ab12-x7k2p9",
        katib.ENV_NAMESPACE: "team-a",
        katib.ENV_KFP_EXPERIMENT: "tuning",
        "KALE_PARAM_RATE": "0.25",
        "KALE_PARAM_ROUNDS": "4",
    }.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def run_trial(package, *extra):
    path, sha, _ = package
    argv = ["--package", path, "--sha256", sha, "--objective", "score", "--metric", "loss", "--poll-interval", "0.01"]
    return katib_trial.main([*argv, *extra])


def test_the_trial_runs_the_pipeline_with_its_values_and_prints_katibs_metric_lines(
    package, kfp_fake, trial_env, capsys
):
    assert run_trial(package) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["score=1.5", f"loss={2 / 3!r}"]
    # What Katib's StdOut collector reads from the container's output (stdout and stderr interleaved in its log).
    assert collect(err + out, METRICS) == [("score", "1.5"), ("loss", repr(2 / 3))]
    (create,) = kfp_fake.calls("POST", "/apis/v2beta1/runs")
    assert create["body"]["display_name"] == "small-tune-ab12-x7k2p9"
    assert create["body"]["runtime_config"]["parameters"] == {"RATE": 0.25, "ROUNDS": 4}
    sent = create["body"]["pipeline_spec"]
    assert sent.get("pipeline_spec", sent)["root"] == yaml.safe_load(package[2])["root"]
    exp = kfp_fake.calls("POST", "/apis/v2beta1/experiments")[0]["body"]
    assert exp["display_name"] == "tuning"
    kfp_calls = [r for r in kfp_fake.requests if r["path"].startswith("/apis/")]
    assert {r["authorization"] for r in kfp_calls} == {f"Bearer {TOKEN}"}
    downloads = [r for r in kfp_fake.requests if r["path"].startswith("/apis/v2beta1/artifacts/")]
    assert downloads and all(r["query"] == {"view": "DOWNLOAD"} for r in downloads)
    blobs = [r for r in kfp_fake.requests if r["path"].startswith("/blobs/")]
    assert blobs and all(r["authorization"] is None for r in blobs)  # the signed URL gets no bearer token
    assert TOKEN not in out + err


@pytest.mark.parametrize("kfp_fake", [{"namespaces": ["team-a"]}], indirect=True)
def test_on_multi_user_kfp_the_trial_uses_its_pods_namespace(package, kfp_fake, trial_env, capsys):
    assert run_trial(package) == 0
    lookups = kfp_fake.calls("GET", "/apis/v2beta1/experiments")
    assert lookups and lookups[0]["query"].get("namespace") == "team-a"


def test_a_failed_kfp_run_fails_the_trial_without_metric_lines(package, kfp_fake, trial_env, capsys):
    kfp_fake.script = [("RUNNING", {"train": "RUNNING"}), ("FAILED", {"train": "FAILED"})]
    assert run_trial(package) == 1
    out, err = capsys.readouterr()
    assert collect(out + err, METRICS) == []
    assert "ended FAILED" in err


def test_a_run_without_the_objective_fails_the_trial(package, kfp_fake, trial_env, capsys):
    kfp_fake.metrics = {"loss": 0.5}
    assert run_trial(package) == 1
    out, err = capsys.readouterr()
    assert collect(out + err, METRICS) == [("loss", "0.5")]


def test_an_unreadable_metrics_artifact_fails_the_trial_with_the_reason(package, kfp_fake, trial_env, capsys):
    kfp_fake.blobs_broken = True
    assert run_trial(package) == 1
    out, err = capsys.readouterr()
    assert collect(out + err, METRICS) == [] and "cannot download metrics artifact" in err


def test_a_replaced_package_is_refused_before_anything_is_submitted(package, kfp_fake, trial_env, capsys):
    path, _, _ = package
    assert katib_trial.main(["--package", path, "--sha256", "0" * 64, "--objective", "score"]) == 2
    assert "SHA-256 differs" in capsys.readouterr().err
    assert kfp_fake.requests == []


@pytest.mark.parametrize(
    ("key", "value", "phrase"),
    [("KALE_PARAM_NOPE", "1", "NOPE is not an input"), ("KALE_PARAM_ROUNDS", "4.5", "is not a NUMBER_INTEGER")],
)
def test_bad_values_exit_2_with_one_line(package, kfp_fake, trial_env, capsys, key, value, phrase):
    trial_env.setenv(key, value)
    assert run_trial(package) == 2
    err = capsys.readouterr().err
    assert phrase in err and len(err.strip().splitlines()) == 1


def test_an_unreachable_kfp_api_exits_2(package, kfp_fake, trial_env, capsys):
    kfp_fake.stop()
    assert run_trial(package) == 2
    assert "cannot reach the Kubeflow Pipelines API" in capsys.readouterr().err


def test_the_step_entry_writes_the_metrics_file_the_trial_downloads(tmp_path):
    class Metrics:
        path = str(tmp_path / "out" / "metrics")
        metadata: dict = {}

        def log_metric(self, name, value):
            self.metadata[name] = value

    m = Metrics()
    log_metrics(m, {"score": 0.75, "ok": True, "label": "rf"})
    assert json.loads((tmp_path / "out" / "metrics").read_text()) == {"ok": 1, "score": 0.75}


def katib_pod_command(container: dict, metrics_dir: str) -> list[str]:
    """The primary container's command after Katib's pod webhook (pkg/webhook/v1beta1/pod/utils.go,
    wrapWorkerContainer) for the StdOut collector: a leading ``sh -c`` is kept, the rest is joined with spaces, unquoted,
    after the redirect into the metrics file and the completion mark."""
    argv = [*container["command"], *container.get("args", [])]
    command = ["sh", "-c"]
    if argv[:2] in (["sh", "-c"], ["bash", "-c"]):
        command, argv = argv[:2], argv[2:]
    argv += [f"1>{metrics_dir}/metrics.log 2>&1", "&&", f"echo completed > {metrics_dir}/$$$$.pid"]
    return [*command, " ".join(argv)]


@pytest.mark.parametrize("requirements", [[], "installed-kfp"], ids=["bare", "sh-c-with-pip"])
def test_the_trial_container_as_katib_rewrites_and_runs_it(package, kfp_fake, tmp_path, requirements):
    """The Experiment's own trial container: trialParameters substituted into the template's JSON as Katib does, the
    command rewritten by Katib's pod webhook, run by sh; its metrics file read with the collector's filter."""
    import importlib.metadata as md
    import os
    import subprocess
    import sys

    from .katib_helpers import small_spec

    path, sha, text = package
    if requirements == "installed-kfp":  # already satisfied here: pip installs nothing
        requirements = [f"kfp=={md.version('kfp')}"]
    _, exp = katib.build_manifests(
        small_spec(), name="small-tune", namespace="team-a", pipeline_package=text, requirements=requirements
    )
    template = json.dumps(exp["spec"]["trialTemplate"]["trialSpec"])
    for name, value in {"kaleTrialName": "small-tune-x1", "RATE": "0.25", "ROUNDS": "4"}.items():
        template = template.replace(f"${{trialParameters.{name}}}", value)
    job = json.loads(template.replace(katib.PACKAGE_DIR, os.path.dirname(path)))
    c = job["spec"]["template"]["spec"]["containers"][0]
    token = tmp_path / "token"
    token.write_text(TOKEN)
    env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    env.update({katib.ENV_NAMESPACE: "team-a", "KF_PIPELINES_ENDPOINT": kfp_fake.url})
    env.update({"KF_PIPELINES_SA_TOKEN_PATH": str(token), "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin"})
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    argv = katib_pod_command(c, str(tmp_path))
    # The fake's run moves one state per poll: poll it faster than the program's default 5 s (the program is the
    # script's last command, so its options end where Katib's redirect begins).
    argv[-1] = argv[-1].replace(" 1>", " --poll-interval 0.05 1>", 1)
    done = subprocess.run(argv, env=env, timeout=120, capture_output=True, text=True)
    assert done.returncode == 0, (done.stdout, done.stderr)
    log = (tmp_path / "metrics.log").read_text()
    assert collect(log, METRICS) == [("score", "1.5"), ("loss", repr(2 / 3))]
    assert [p.read_text().strip() for p in tmp_path.glob("*.pid")] == ["completed"]
    (create,) = kfp_fake.calls("POST", "/apis/v2beta1/runs")
    assert create["body"]["runtime_config"]["parameters"] == {"RATE": 0.25, "ROUNDS": 4}
    assert create["body"]["display_name"] == "small-tune-x1"
