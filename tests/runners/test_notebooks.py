"""Real notebooks through the analysis and the local runner: the Kale compatibility example runs unchanged, and every
deterministic example gives the same metrics as a top-to-bottom execution of the notebook in one namespace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from kale_ext.commands.run import load_pipeline
from kale_ext.runners.local import LocalRunner
from kale_ext.store import Store

from .helpers import REPO, SHARED, run_top_to_bottom

CANDIES = os.path.join(SHARED, "compat", "candies_sharing.ipynb")
EXAMPLES = os.path.join(REPO, "examples")


def run_notebook(path, store_dir, **kwargs):
    pipeline = load_pipeline(str(path))
    runner = LocalRunner(Store(str(store_dir)))
    run = runner.wait(runner.start(pipeline, str(path), **kwargs), timeout=300)
    return pipeline, runner, run


@pytest.mark.skipif(not os.path.exists(CANDIES), reason=f"the shared compat corpus is absent ({CANDIES})")
def test_candies_sharing_runs_unchanged(tmp_path):
    before = open(CANDIES, "rb").read()
    nb = tmp_path / "candies_sharing.ipynb"
    shutil.copy(CANDIES, nb)  # the store goes beside the copy; the original folder is read-only
    pipeline, runner, run = run_notebook(nb, tmp_path / ".kale")
    assert run["status"] == "succeeded", run
    assert [s["name"] for s in run["steps"]] == ["sack", "kid1", "kid2", "kid3"]
    logs = {s: runner.read_log(run["run_id"], s)[0] for s in ("sack", "kid1", "kid2", "kid3")}
    assert "three kids" in logs["sack"] and "20 candies" in logs["sack"]
    got = [int(logs[k].split("I got ")[1].split()[0]) for k in ("kid1", "kid2") if "I got" in logs[k]]
    assert all(g >= 1 for g in got) and sum(got) <= 20
    assert open(CANDIES, "rb").read() == before and nb.read_bytes() == before


@pytest.mark.parametrize("name", ["wine_classification", "digits_pipeline"])
def test_example_metrics_equal_top_to_bottom_execution(tmp_path, name):
    nb = tmp_path / f"{name}.ipynb"
    shutil.copy(os.path.join(EXAMPLES, f"{name}.ipynb"), nb)
    pipeline, _, run = run_notebook(nb, tmp_path / ".kale")
    assert run["status"] == "succeeded", run
    assert pipeline.metrics, "examples declare metrics"
    assert set(run["metrics"]) == set(pipeline.metrics)
    assert run["metrics"] == run_top_to_bottom(nb, pipeline.metrics)
    branches = [s.name for s in pipeline.steps if s.depends_on == [pipeline.steps[1].name]]
    assert len(branches) >= 2, "examples train models in parallel branches"


def test_bench_iris_notebook_matches_top_to_bottom(tmp_path):
    pytest.importorskip("nbformat", reason="make_iris_notebook.py needs nbformat")
    script = os.path.join(SHARED, "bench", "make_iris_notebook.py")
    if not os.path.exists(script):
        pytest.skip(f"the shared bench folder is absent ({script})")
    subprocess.run([sys.executable, script, str(tmp_path)], check=True, capture_output=True)
    nb = tmp_path / "iris_branches.ipynb"
    pipeline, _, run = run_notebook(nb, tmp_path / ".kale")
    assert run["status"] == "succeeded", run
    assert run["metrics"] == run_top_to_bottom(nb, pipeline.metrics)
    assert set(run["metrics"]) == {"rf_accuracy", "lr_accuracy"}
