"""`kale-ext run` and `kale-ext runs` through the real command line (a subprocess: exit codes, stdout, stderr)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .helpers import REPO, code_cell, write_notebook


def kale(*args, cwd, env_home=None):
    env = {k: v for k, v in os.environ.items() if k != "KALE_EXT_HOME"}
    if env_home:
        env["KALE_EXT_HOME"] = env_home
    return subprocess.run(
        [sys.executable, "-m", "kale_ext", *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    cells = [
        code_cell("import math", "imports"),
        code_cell("N = 4\nLABEL = 'run'", "pipeline-parameters"),
        code_cell("values = [math.sqrt(i) for i in range(N)]\nprint('made', len(values))", "step:make"),
        code_cell("total = sum(values)\nname = LABEL + '!'", "step:total", "prev:make"),
        code_cell("print(total)\nprint(name)", "pipeline-metrics"),
    ]
    path, _ = write_notebook(d / "small.ipynb", cells)
    bad = [
        code_cell("x = 1", "step:one"),
        code_cell("y = x + 1\nz = y / 0", "step:two", "prev:one"),
    ]
    write_notebook(d / "broken.ipynb", bad)
    return d


def test_run_json_then_cached_then_runs_commands(project):
    proc = kale("run", "small.ipynb", "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"run_id", "status", "steps", "metrics"}
    assert out["status"] == "succeeded" and out["metrics"] == {
        "total": pytest.approx(1 + 2**0.5 + 3**0.5),
        "name": "run!",
    }
    assert [(s["name"], s["status"], s["cached"]) for s in out["steps"]] == [
        ("make", "succeeded", False),
        ("total", "succeeded", False),
    ]
    assert "make" in proc.stderr and "succeeded" in proc.stderr, "live progress goes to stderr"

    again = json.loads(kale("run", "small.ipynb", "--json", cwd=project).stdout)
    assert [s["status"] for s in again["steps"]] == ["cached", "cached"]
    changed = json.loads(kale("run", "small.ipynb", "--json", "--param", "LABEL=other", cwd=project).stdout)
    assert [s["status"] for s in changed["steps"]] == ["cached", "succeeded"]
    assert changed["metrics"]["name"] == "other!"

    listing = kale("runs", "list", "--json", cwd=project)
    assert [r["run_id"] for r in json.loads(listing.stdout)][:3] == [changed["run_id"], again["run_id"], out["run_id"]]
    show = kale("runs", "show", out["run_id"], cwd=project)
    assert show.returncode == 0 and "make" in show.stdout and "succeeded" in show.stdout
    logs = kale("runs", "logs", out["run_id"], "make", cwd=project)
    assert logs.returncode == 0 and logs.stdout == "made 4\n"
    missing = kale("runs", "show", "nope", cwd=project)
    assert missing.returncode == 2 and missing.stderr.startswith("kale-ext: error:")


@pytest.mark.parametrize(
    "label, n, name, total",
    [
        ("'boom'", "2", "boom!", 1.0),  # a str literal passes its value, not its quotes
        ("boom", "2", "boom!", 1.0),  # a bare word is a string
        ("3", "(1)", "3!", 0.0),  # for a str parameter a number stays text; for an int one a literal is evaluated
    ],
)
def test_param_values_are_literals_of_the_parameters_type(project, label, n, name, total):
    proc = kale("run", "small.ipynb", "--json", "--param", f"LABEL={label}", "--param", f"N={n}", cwd=project)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["metrics"] == {"name": name, "total": pytest.approx(total)}
    shown = json.loads(kale("runs", "show", out["run_id"], "--json", cwd=project).stdout)
    assert shown["parameters"] == {"N": int(n.strip("()")), "LABEL": name[:-1]}


def test_failed_run_exits_1_and_names_cell_and_line(project):
    proc = kale("run", "broken.ipynb", cwd=project)
    assert proc.returncode == 1
    assert "ZeroDivisionError" in proc.stderr and "cell 1, line 2" in proc.stderr
    assert "z = y / 0" in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--param", "NOPE=1"], "Unknown parameter 'NOPE'"),
        (["--param", "N=1.5"], "expects a int"),
        (["--param", "N"], "NAME=VALUE"),
        (["--max-parallel", "0"], "at least 1"),
    ],
)
def test_unusable_input_exits_2_with_one_line(project, args, message):
    proc = kale("run", "small.ipynb", *args, cwd=project)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1


def test_missing_notebook_exits_2(project):
    proc = kale("run", "absent.ipynb", cwd=project)
    assert proc.returncode == 2 and "kale-ext: error:" in proc.stderr


def test_store_env_override(project, tmp_path):
    proc = kale("run", "small.ipynb", "--json", cwd=project, env_home=str(tmp_path / "home"))
    assert proc.returncode == 0, proc.stderr
    assert os.path.exists(tmp_path / "home" / "kale.db")
    listing = kale("runs", "list", "--json", cwd=project, env_home=str(tmp_path / "home"))
    assert [r["run_id"] for r in json.loads(listing.stdout)] == [json.loads(proc.stdout)["run_id"]]


def test_core_does_not_import_the_server_stack():
    code = (
        "import sys; import kale_ext.runners.local, kale_ext.commands.run, kale_ext.commands.runs, "
        "kale_ext.runners.local.zygote, kale_ext.marshal, kale_ext.store; "
        "bad = [m for m in ('tornado', 'jupyter_server') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_resume_a_failed_run_and_follow_logs(tmp_path):
    flag = tmp_path / "ready.flag"
    cells = [
        code_cell("print('first step')\nbase = 1", "step:first"),
        code_cell(
            f"import os\nassert os.path.exists({str(flag)!r}), 'not ready'\nprint('second', base)",
            "step:second",
            "prev:first",
        ),
    ]
    write_notebook(tmp_path / "flaky.ipynb", cells)
    failed = kale("run", "flaky.ipynb", "--json", cwd=tmp_path)
    assert failed.returncode == 1 and "AssertionError: not ready" in failed.stderr
    run_id = json.loads(failed.stdout)["run_id"]
    flag.write_text("1")
    resumed = kale("runs", "resume", run_id, "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert [(s["name"], s["status"]) for s in out["steps"]] == [("first", "cached"), ("second", "succeeded")]
    follow = kale("runs", "logs", out["run_id"], "second", "--follow", cwd=tmp_path)
    assert follow.returncode == 0 and follow.stdout == "second 1\n"
