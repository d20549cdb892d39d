"""The code inside a KFP task (kale_ext.runners.kfp.entry), without kfp: artifacts are stood in for by objects with the
two attributes the task uses (``path``, ``metadata``) and ``log_metric``. It runs the project's step program, reads its
inputs from artifact directories and writes its outputs into them, and logs numeric metrics."""

from __future__ import annotations

import json
import os
import types

import pytest

from kale_ext.pipeline.model import CellSource, Pipeline, Step
from kale_ext.runners.kfp.entry import ENTRY_FILE, StepFailedError, run_step
from kale_ext.steps import build_specs


class FakeMetrics:
    def __init__(self) -> None:
        self.metadata: dict = {}

    def log_metric(self, name, value) -> None:
        self.metadata[name] = value


def artifact(path):
    return types.SimpleNamespace(path=str(path), metadata={})


def specs():
    first = Step(
        "first",
        [CellSource(1, "assert type(PAIR) is tuple\ndata = {'n': N, 'pair': PAIR}\nlabel = 'x'\n")],
        outputs=["data", "label"],
    )
    first.parameters = ["N", "PAIR"]
    second = Step(
        "second",
        [CellSource(2, "total = data['n'] + sum(data['pair'])\nif total < 0:\n    raise ValueError('negative')\n")],
        depends_on=["first"],
        inputs=["data"],
        outputs=[],
        input_sources={"data": "first"},
    )
    p = Pipeline("p", [first, second], parameters={"N": 1, "PAIR": (1, 2)}, metrics=["total"])
    p.metric_sources = {"total": "second"}
    return [s.to_json() for s in build_specs(p)]


def test_outputs_are_artifact_directories_read_back_by_the_consumer(tmp_path):
    first, second = specs()
    data, label = artifact(tmp_path / "data"), artifact(tmp_path / "label")
    run_step(
        first, parameters={"N": 5, "PAIR": [1, 2]}, inputs={}, outputs={"data": data, "label": label}, tuples=("PAIR",)
    )
    entry = json.load(open(os.path.join(data.path, ENTRY_FILE)))
    assert not os.path.isabs(entry["path"]) and os.path.exists(os.path.join(data.path, entry["path"]))
    assert data.metadata["type"] == "builtins.dict" and data.metadata["hash"].startswith("sha256:")
    metrics = FakeMetrics()
    run_step(second, parameters={}, inputs={"data": data}, outputs={}, metrics=metrics)
    assert metrics.metadata == {"total": 8}


def test_a_failing_step_raises_with_the_notebook_cell_and_line(tmp_path):
    first, second = specs()
    data = artifact(tmp_path / "data")
    run_step(
        first,
        parameters={"N": -10, "PAIR": [1, 2]},
        inputs={},
        outputs={"data": data, "label": artifact(tmp_path / "l")},
        tuples=("PAIR",),
    )
    with pytest.raises(
        StepFailedError, match=r"step 'second' failed \(notebook cell 2, line 3\): ValueError: negative"
    ):
        run_step(second, parameters={}, inputs={"data": data}, outputs={}, metrics=FakeMetrics())


def test_non_numeric_metrics_are_reported_not_logged(capsys):
    from kale_ext.runners.kfp.entry import log_metrics

    metrics = FakeMetrics()
    log_metrics(metrics, {"acc": 0.5, "ok": True, "name": "rf"})
    assert metrics.metadata == {"acc": 0.5, "ok": 1}
    assert "metric 'name' is not a number" in capsys.readouterr().err


def test_names_sharing_objects_stay_shared_across_the_task_boundary(tmp_path):
    producer = Step("make", [CellSource(0, "a = [1, 2]\nb = a\n")], outputs=["a", "b"], shared_outputs=[["a", "b"]])
    consumer = Step(
        "use",
        [CellSource(1, "b.append(3)\nsame = a is b and a == [1, 2, 3]\n")],
        depends_on=["make"],
        inputs=["a", "b"],
        input_sources={"a": "make", "b": "make"},
    )
    p = Pipeline("p", [producer, consumer], metrics=["same"])
    p.metric_sources = {"same": "use"}
    make, use = (s.to_json() for s in build_specs(p))
    a, b = artifact(tmp_path / "a"), artifact(tmp_path / "b")
    run_step(make, parameters={}, inputs={}, outputs={"a": a, "b": b})
    assert a.metadata["serializer"] == "group" and a.metadata["hash"] == b.metadata["hash"]
    metrics = FakeMetrics()
    run_step(use, parameters={}, inputs={"a": a, "b": b}, outputs={}, metrics=metrics)
    assert metrics.metadata == {"same": 1}


def test_the_step_runs_in_the_working_folder_when_it_exists(tmp_path, capsys):
    step = Step("where", [CellSource(0, "import os\nhere = os.getcwd()\n")], outputs=["here"])
    (spec,) = (s.to_json() for s in build_specs(Pipeline("p", [step])))
    (tmp_path / "work").mkdir()
    out = artifact(tmp_path / "out")
    run_step(spec, parameters={}, inputs={}, outputs={"here": out}, workdir=str(tmp_path / "work"))
    from kale_ext.marshal import ArtifactEntry, load_value
    from kale_ext.runners.kfp.entry import read_entry

    assert load_value(ArtifactEntry.from_json(read_entry(out.path))) == str(tmp_path / "work")
    run_step(spec, parameters={}, inputs={}, outputs={"here": artifact(tmp_path / "o2")}, workdir="/no/such/dir")
    assert "does not exist in this task" in capsys.readouterr().out
