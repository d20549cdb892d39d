"""The `kale-ext` console script as users run it: a real process, exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import kale_ext
from tests.conftest import SHARED
from tests.hostile_cells import DEPTH, HOSTILE, hostile_notebook
from tests.notebooks import write_notebook as write_nb


def kale(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kale_ext", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_usage_error(result):
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kale-ext") and ": error: " in lines[0]
    assert "Traceback" not in result.stderr


def test_version():
    result = kale("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"kale-ext {kale_ext.__version__}"


def test_no_command_prints_help_and_exits_2():
    result = kale()
    assert result.returncode == 2
    assert "analyze" in result.stderr and "run" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["bogus"],
        ["analyze"],
        ["analyze", "x.ipynb", "--nope"],
        ["run", "x.ipynb", "--max-parallel", "many"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args):
    assert_one_line_usage_error(kale(*args))


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "no such file"),
        ("hello", "not valid JSON"),
        ('{"a": 1}', "not a notebook"),
        ('{"nbformat": 3, "worksheets": []}', "nbformat 3"),
        ("[1, 2]", "notebook JSON object"),
    ],
)
@pytest.mark.parametrize("command", ["analyze", "run"])
def test_unusable_notebooks_are_one_line_and_exit_2(tmp_path, command, content, expected):
    path = tmp_path / "nb.ipynb"
    if content is not None:
        path.write_text(content)
    result = kale(command, str(path))
    assert_one_line_usage_error(result)
    assert expected in result.stderr


def test_a_directory_is_not_a_notebook(tmp_path):
    assert_one_line_usage_error(kale("analyze", str(tmp_path)))


def test_analyze_json_exit_0_without_errors(tmp_path):
    nb = write_nb(tmp_path / "ok.ipynb", (["step:a"], "x = 1"), (["step:b"], "y = x + 1"))
    result = kale("analyze", nb, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) >= {"pipeline", "steps", "parameters", "metrics", "diagnostics"}
    assert body["pipeline"]["name"]
    assert [(s["name"], s["inputs"], s["depends_on"]) for s in body["steps"]] == [("a", [], []), ("b", ["x"], ["a"])]


def test_analyze_json_answers_every_cells_role(tmp_path):
    nb = write_nb(tmp_path / "ok.ipynb", (["imports"], "import os"), ([], "import sys"), (["block:a"], "x = 1"))
    result = kale("analyze", nb, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cells"] == [
        {"index": 0, "role": "imports", "step": None},
        {"index": 1, "role": "imports", "step": None},
        {"index": 2, "role": "step", "step": "a"},
    ]


def test_analyze_json_exit_1_with_error_diagnostics_and_still_prints(tmp_path):
    nb = write_nb(tmp_path / "bad.ipynb", (["step:a"], "x = 1"), (["step:b"], "y = x + undefined_name"))
    result = kale("analyze", nb, "--json")
    assert result.returncode == 1
    errors = [d for d in json.loads(result.stdout)["diagnostics"] if d["severity"] == "error"]
    assert [(d["cell"], d["line"]) for d in errors] == [(1, 1)]
    assert "undefined_name" in errors[0]["message"]


def test_analyze_text_summary(tmp_path):
    nb = write_nb(tmp_path / "ok.ipynb", (["step:load"], "data = [1, 2]"), (["step:train"], "model = sum(data)"))
    result = kale("analyze", nb)
    assert result.returncode == 0
    assert "load" in result.stdout and "train" in result.stdout and "data" in result.stdout


@pytest.mark.skipif(not (SHARED / "compat").is_dir(), reason="../shared/compat is not beside this checkout")
@pytest.mark.parametrize("name", ["candies_sharing", "taxicab_pipeline", "cifar10_classification"])
def test_analyze_kale_compat_notebooks_without_errors(name):
    result = kale("analyze", str(SHARED / "compat" / f"{name}.ipynb"), "--json")
    assert result.returncode == 0, result.stdout[-2000:]
    assert json.loads(result.stdout)["steps"]


@pytest.mark.parametrize("name", ["sum_of_400000_terms", "list_nested_100000_deep", "parentheses_nested_100000_deep"])
def test_analyze_too_complex_cell_exits_1_with_its_diagnostic(tmp_path, name):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(hostile_notebook(HOSTILE[name])))
    result = kale("analyze", str(path), "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    body = json.loads(result.stdout)
    errors = [(d["code"], d["cell"]) for d in body["diagnostics"] if d["severity"] == "error"]
    assert errors == [("syntax.too_complex", 1)]
    assert [s["name"] for s in body["steps"]] == ["a", "b", "c"]


def test_analyze_text_and_run_name_the_too_complex_cell(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(hostile_notebook(HOSTILE["sum_of_400000_terms"])))
    text = kale("analyze", str(path))
    assert text.returncode == 1 and "Traceback" not in text.stderr
    assert "syntax.too_complex" in text.stdout and "cell 1" in text.stdout
    run = kale("run", str(path), cwd=tmp_path)
    assert_one_line_usage_error(run)
    assert "too complex" in run.stderr and "cell 1" in run.stderr


@pytest.mark.parametrize("command", ["analyze", "run"])
def test_notebook_json_nested_too_deeply_exits_2(tmp_path, command):
    path = tmp_path / "deep.ipynb"
    path.write_text('{"cells": ' + "[" * DEPTH + "]" * DEPTH + "}")
    result = kale(command, str(path))
    assert_one_line_usage_error(result)
    assert "nested too deeply" in result.stderr


def test_run_param_values_are_literals_of_the_parameters_type(tmp_path):
    nb = write_nb(
        tmp_path / "params.ipynb",
        (["pipeline-parameters"], "MODE = 'x'\nN = 1"),
        (["step:a"], "label = MODE + '!' * N"),
        (["pipeline-metrics"], "print(label)"),
    )
    result = kale("run", nb, "--json", "--param", "MODE='boom'", "--param", "N=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["metrics"] == {"label": "boom!!"}, "quotes of a str literal are not kept"
    bad = kale("run", nb, "--param", "N=boom", cwd=tmp_path)
    assert_one_line_usage_error(bad)
    assert "Parameter 'N' expects a int like its default 1, got 'boom'" in bad.stderr
