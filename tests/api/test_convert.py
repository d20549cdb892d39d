"""The core's dicts become wire models field by field: nothing the store adds leaks, nothing the models need is missing."""

from __future__ import annotations

import msgspec
import pytest

from kale_ext.api.analysis import Analysis
from kale_ext.api.codec import to_builtins
from kale_ext.api.convert import analysis_from_pipeline, log_chunk, run_from_record, run_list
from kale_ext.api.runs import LogChunk, Run, RunList
from tests.notebooks import make_notebook

STEP = {
    "name": "train",
    "status": "failed",
    "cached": False,
    "cached_from": None,
    "depends_on": ["load"],
    "started": 10.0,
    "finished": 12.5,
    "duration_s": 2.5,
    "exit_code": 1,
    "error": {"type": "ZeroDivisionError", "message": "division by zero", "cell": 3, "line": 2, "traceback": "tb"},
    "log_path": "/s/runs/r1/train.log",
    "cache_key": "abc",
    "timings": {"load_s": 0.1, "cells_s": 2.0, "total_s": 2.4},
    "inputs": [{"name": "df", "hash": "h1", "producer": "load", "producer_run": "r0"}],
    "outputs": [{"name": "m", "serializer": "pickle", "hash": "h2", "size": 9, "type": "builtins.dict", "path": "/a"}],
    "pid": 4242,  # internal: must not reach the wire
}
RECORD = {
    "run_id": "r1",
    "notebook": "/root/dir/nb.ipynb",
    "pipeline": "nb",
    "status": "failed",
    "created": 9.0,
    "started": 10.0,
    "finished": 12.5,
    "duration_s": 3.5,
    "metrics": {"acc": 0.9},
    "resumed_from": None,
    "parameters": {"N": 3},
    "options": {"use_cache": True, "fail_fast": False, "max_parallel": 2, "launcher": "fork"},
    "error": None,
    "steps": [STEP],
    "driver_pid": 1,  # internal
}


def test_run_record_becomes_the_run_model_and_validates():
    wire = to_builtins(run_from_record(RECORD, "dir/nb.ipynb"))
    run = msgspec.convert(wire, Run)  # what a client decoding the answer would get
    assert run.path == "dir/nb.ipynb" and run.runner == "local" and run.external_id is None
    assert run.steps[0].timings == {"load_s": 0.1, "cells_s": 2.0, "total_s": 2.4}
    assert run.steps[0].inputs[0].producer == "load" and run.steps[0].outputs[0].size == 9
    assert run.steps[0].error is not None and (run.steps[0].error.cell, run.steps[0].error.line) == (3, 2)
    assert "driver_pid" not in wire and "pid" not in wire["steps"][0]


def test_backend_and_external_id_pass_through():
    run = run_from_record({**RECORD, "runner": "kfp", "external_id": "kfp-123"})
    assert (run.runner, run.external_id, run.path) == ("kfp", "kfp-123", None)


def test_a_kfp_run_carries_its_ui_link_and_may_be_unknown():
    from kale_ext.api.codec import to_builtins

    url = "http://kfp.example/#/runs/details/kfp-123"
    record = {**RECORD, "status": "unknown", "runner": "kfp", "external_id": "kfp-123"}
    record["options"] = {**RECORD["options"], "external_url": url, "kfp": {"host": "http://kfp.example"}}
    wire = to_builtins(run_from_record(record))
    assert (wire["status"], wire["external_url"]) == ("unknown", url)
    assert "kfp" not in wire["options"]  # the backend's own ids stay in the store
    assert to_builtins(run_from_record(RECORD))["external_url"] is None


def test_a_missing_field_fails_loudly_instead_of_answering_half_a_run():
    broken = {k: v for k, v in RECORD.items() if k != "status"}
    with pytest.raises(KeyError):
        run_from_record(broken)


def test_summaries_are_one_shape_with_step_counts():
    summary = {k: v for k, v in RECORD.items() if k not in ("parameters", "options", "error", "steps")}
    listing = run_list([{**summary, "steps": {"failed": 1, "succeeded": 2}}], lambda nb: nb.rsplit("/", 1)[-1])
    wire = to_builtins(listing)
    assert list(wire) == ["runs"] and wire["runs"][0]["steps"] == {"failed": 1, "succeeded": 2}
    assert msgspec.convert(wire, RunList).runs[0].path == "nb.ipynb"


def test_log_chunk_carries_the_step_status():
    assert to_builtins(log_chunk("out\n", 4, "running")) == {"text": "out\n", "next_offset": 4, "status": "running"}
    with pytest.raises(msgspec.ValidationError):
        log_chunk("", 0, "exploded")
    assert isinstance(log_chunk("", 0, "succeeded"), LogChunk)


def test_analysis_of_a_real_pipeline_validates_and_gains_cells():
    from kale_ext.analysis import analyze

    pipeline = analyze(make_notebook((["step:a"], "x = 1"), (["step:b"], "y = x + 1")), name="nb")
    analysis = analysis_from_pipeline(pipeline.to_json())
    assert [s.name for s in analysis.steps] == ["a", "b"] and analysis.steps[1].inputs == ["x"]
    assert isinstance(analysis.cells, list)
    with_cells = {**pipeline.to_json(), "cells": [{"index": 0, "role": "step", "step": "a"}]}
    assert analysis_from_pipeline(with_cells).cells[0].step == "a"
    assert msgspec.convert(to_builtins(analysis), Analysis) == analysis


def test_the_cli_prints_exactly_what_the_analysis_model_answers():
    """`kale-ext analyze --json` prints Pipeline.to_json() (no model import on the CLI's hot path); POST analyze
    answers through the Analysis model: on every example and compat notebook the two are the same JSON."""
    import glob
    import json
    import os

    from kale_ext.analysis import analyze
    from kale_ext.notebook import load_notebook

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = sorted(glob.glob(os.path.join(repo, "examples", "*.ipynb")))
    paths += sorted(glob.glob(os.path.join(os.path.dirname(repo), "shared", "compat", "*.ipynb")))
    assert paths
    for path in paths:
        data = analyze(load_notebook(path), name="nb").to_json()
        assert to_builtins(analysis_from_pipeline(data)) == json.loads(json.dumps(data)), path
