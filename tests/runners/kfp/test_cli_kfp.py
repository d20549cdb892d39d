"""`kale-ext run --backend kfp`, `runs list|show|logs|cancel` of kfp runs, against the loopback fake KFP API."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from .conftest import TOKEN


def kale(*argv):
    from kale_ext.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def env(monkeypatch, token_file, tmp_path):
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", token_file)
    monkeypatch.delenv("KF_PIPELINES_ENDPOINT", raising=False)
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)


def test_run_waits_with_per_step_progress_and_is_recorded_like_a_local_run(fake_kfp, env, small_nb):
    code, out, err = kale("run", small_nb, "--backend", "kfp", "--host", fake_kfp.url, "--param", "ROUNDS=5", "--json")
    assert code == 0, err
    result = json.loads(out)
    kfp_id = next(iter(fake_kfp.runs))
    assert result["status"] == "succeeded" and result["runner"] == "kfp" and result["external_id"] == kfp_id
    assert "submitted to Kubeflow Pipelines as " + kfp_id in err
    assert " train                    running" in err and " evaluate                 succeeded" in err
    assert fake_kfp.runs[kfp_id]["body"]["runtime_config"]["parameters"]["ROUNDS"] == 5
    assert TOKEN not in out + err

    code, out, _ = kale("runs", "show", result["run_id"], "--notebook", small_nb, "--json")
    shown = json.loads(out)
    assert (shown["runner"], shown["external_id"]) == ("kfp", kfp_id)
    assert shown["external_url"] == f"{fake_kfp.url}/#/runs/details/{kfp_id}"
    assert [s["status"] for s in shown["steps"]] == ["succeeded"] * 3

    code, out, _ = kale("runs", "list", "--notebook", small_nb)
    assert code == 0 and result["run_id"] in out and " kfp " in out
    code, out, _ = kale("runs", "show", result["run_id"], "--notebook", small_nb)
    assert f"on kfp as {kfp_id}" in out
    code, out, _ = kale("runs", "logs", result["run_id"], "train", "--notebook", small_nb)
    assert code == 0 and shown["external_url"] in out


def test_detach_then_cancel(fake_kfp, env, small_nb):
    fake_kfp.script = [("RUNNING", {"load": "RUNNING"})]
    code, out, err = kale("run", small_nb, "--backend", "kfp", "--host", fake_kfp.url, "--detach", "--json")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    code, out, err = kale("runs", "cancel", run_id, "--notebook", small_nb, "--json")
    assert code == 0, err
    cancelled = json.loads(out)
    assert cancelled["status"] == "cancelled"
    assert fake_kfp.calls("POST", f"/apis/v2beta1/runs/{cancelled['external_id']}:terminate")


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("unreachable", [], "cannot reach the Kubeflow Pipelines API"),
        ("not_kfp", [], "is not a Kubeflow Pipelines API"),
        ("bad_token", [], "KF_PIPELINES_SA_TOKEN_PATH"),
        ("namespaces", ["--namespace", "elsewhere"], "in namespace 'elsewhere' (HTTP 403"),
        (None, ["--param", "RATE=fast"], "Parameter 'RATE' expects a float"),
        (None, ["--param", "NOPE=1"], "Unknown parameter 'NOPE'"),
        ("no_host", [], "no Kubeflow Pipelines backend is configured (no KFP host)"),
    ],
)
def test_faults_are_one_line_exit_2(fake_kfp, env, small_nb, monkeypatch, tmp_path, setup, args, message):
    host = fake_kfp.url
    if setup == "unreachable":
        fake_kfp.stop()
    elif setup == "not_kfp":
        fake_kfp.not_kfp = True
    elif setup == "bad_token":
        bad = tmp_path / "bad-token"
        bad.write_text("wrong")
        monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(bad))
    elif setup == "namespaces":
        fake_kfp.namespaces = ["team-a"]
    host_args = [] if setup == "no_host" else ["--host", host]
    code, out, err = kale("run", small_nb, "--backend", "kfp", *host_args, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("kale-ext: error: ")
    assert "Traceback" not in err and TOKEN not in err


def test_analysis_errors_are_refused_before_any_request(fake_kfp, env, tmp_path):
    from ...notebooks import write_notebook

    nb = write_notebook(tmp_path / "bad.ipynb", (["step:a"], "x = (\n"))
    code, _, err = kale("run", nb, "--backend", "kfp", "--host", fake_kfp.url)
    assert code == 2 and "analysis error" in err and fake_kfp.calls() == []


def test_kfp_flags_need_the_kfp_backend(small_nb):
    code, _, err = kale("run", small_nb, "--experiment", "x")
    assert code == 2 and "--experiment apply to --backend kfp only" in err
