"""Cells too complex for Python's parser or for the analysis' recursive walks give a syntax.too_complex diagnostic on
their cell; the rest of the notebook is still analyzed. A notebook whose structure is nested too deeply to read is a
NotebookError (exit 2 / 4xx), never a crash."""

from __future__ import annotations

import json

import pytest

from kale_ext.analysis import analyze
from kale_ext.analysis.diagnostics import CODES
from kale_ext.errors import NotebookError
from kale_ext.notebook import load_notebook
from kale_ext.notebook.cells import parse_cell
from tests.hostile_cells import DEPTH, HOSTILE, hostile_notebook
from tests.notebooks import make_notebook


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_cell_is_a_diagnostic_on_its_cell(name):
    p = analyze(hostile_notebook(HOSTILE[name]))
    errors = [d for d in p.diagnostics if d.severity == "error"]
    assert [(d.code, d.cell) for d in errors] == [("syntax.too_complex", 1)], errors
    assert "split" in errors[0].message.lower()
    assert CODES["syntax.too_complex"][0] == "error"
    steps = {s.name: s for s in p.steps}
    assert steps["c"].inputs == ["x"] and steps["c"].depends_on == ["a"]  # the other cells are still analyzed


def test_analysis_recursion_is_reported_as_such():
    """The method chain parses: it is the analysis' own walk that goes too deep, and the message says so."""
    assert parse_cell(HOSTILE["method_chain_for_the_analysis"]).tree is not None
    p = analyze(hostile_notebook(HOSTILE["method_chain_for_the_analysis"]))
    (d,) = [d for d in p.diagnostics if d.severity == "error"]
    assert "too deeply to analyze" in d.message and "RecursionError" in d.message


def test_parser_failures_are_classified():
    too_deep = parse_cell(HOSTILE["sum_of_400000_terms"])
    assert too_deep.tree is None and too_deep.too_complex and "RecursionError" in (too_deep.error or "")
    nested = parse_cell(HOSTILE["list_nested_100000_deep"])
    assert nested.tree is None and nested.too_complex and nested.error_line == 1
    plain = parse_cell("y = (")
    assert plain.tree is None and not plain.too_complex


def test_hostile_skip_cell_is_ignored():
    nb = make_notebook(
        (["step:a"], "x = 1"), (["skip"], HOSTILE["method_chain_for_the_analysis"]), (["step:b"], "z = x")
    )
    p = analyze(nb)
    assert [d for d in p.diagnostics if d.severity == "error"] == []
    assert p.step("b").inputs == ["x"]


def test_deep_cell_in_the_parameters_cell():
    nb = make_notebook((["pipeline-parameters"], HOSTILE["sum_of_400000_terms"]), (["step:a"], "z = 1"))
    assert [d.code for d in analyze(nb).diagnostics if d.severity == "error"] == ["syntax.too_complex"]


def test_notebook_structure_nested_too_deeply_is_a_notebook_error():
    deep: list = []
    for _ in range(DEPTH // 10):
        deep = [deep]
    nb = make_notebook((["step:a"], "x = 1"), metadata={"kubeflow_notebook": {"deep": deep}})
    with pytest.raises(NotebookError) as err:
        analyze(nb)
    assert err.value.code == "notebook.too_complex"


def test_notebook_file_nested_too_deeply_is_a_notebook_error(tmp_path):
    path = tmp_path / "deep.ipynb"
    path.write_text('{"cells": ' + "[" * DEPTH + "]" * DEPTH + "}")
    with pytest.raises(NotebookError) as err:
        load_notebook(path)
    assert err.value.code == "notebook.too_complex" and "nested too deeply" in err.value.message
    (tmp_path / "ok.ipynb").write_text(json.dumps(make_notebook((["step:a"], "x = 1"))))
    assert load_notebook(tmp_path / "ok.ipynb")["cells"]  # a normal notebook still loads
