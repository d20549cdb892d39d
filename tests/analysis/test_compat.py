"""The compatibility corpus: real Kubeflow Kale example notebooks (../shared/compat/) analyze without error
diagnostics, keep every edge of their prev: tags, and the one that needs only the stdlib runs step by step with the
same final values as top to bottom."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from kale_ext.analysis import analyze, format_text
from kale_ext.notebook import load_notebook

from .executor import run_notebook, run_pipeline

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
COMPAT = SHARED / "compat"
NOTEBOOKS = ["candies_sharing.ipynb", "taxicab_pipeline.ipynb", "cifar10_classification.ipynb"]

pytestmark = pytest.mark.skipif(not COMPAT.is_dir(), reason=f"the shared compat corpus is absent ({COMPAT})")


def prev_edges(nb: dict) -> set[tuple[str, str]]:
    edges = set()
    for cell in nb["cells"]:
        tags = (cell.get("metadata") or {}).get("tags") or []
        steps = [t.split(":", 1)[1] for t in tags if t.startswith(("step:", "block:"))]
        for t in tags:
            if t.startswith("prev:") and steps:
                edges.add((t.split(":", 1)[1], steps[0]))
    return edges


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_compat_notebook(name):
    nb = load_notebook(COMPAT / name)
    p = analyze(nb)
    errors = [d for d in p.diagnostics if d.severity == "error"]
    assert not errors, errors
    dag = {(dep, s.name) for s in p.steps for dep in s.depends_on}
    assert prev_edges(nb) <= dag
    assert p.steps and p.name == nb["metadata"]["kubeflow_notebook"]["pipeline_name"]
    json.dumps(p.to_json())  # serializable as the CLI prints it
    assert all(s.name in format_text(p) for s in p.steps)


def test_candies_expected_flow():
    p = analyze(load_notebook(COMPAT / "candies_sharing.ipynb"))
    assert [s.name for s in p.steps] == ["sack", "kid1", "kid2", "kid3"]
    assert p.parameters == {"CANDIES": 20}
    assert p.step("kid3").inputs == ["kid1", "kid2"]
    assert p.step("kid3").depends_on == ["kid1", "kid2"]
    assert all(s.parameters == ["CANDIES"] for s in p.steps)
    assert [c.index for c in p.prelude] == [1, 3]


def test_candies_runs_step_by_step_like_top_to_bottom():
    nb = load_notebook(COMPAT / "candies_sharing.ipynb")
    p = analyze(nb)
    random.seed(7)
    top = run_notebook(nb)
    random.seed(7)  # every step re-runs the prelude; the steps draw in the same order as the kernel does
    spaces = run_pipeline(nb, p)
    for var in ("kid1", "kid2", "kid3"):
        assert spaces[p.final_sources[var]][var] == top[var]


def test_taxicab_flow_follows_the_data():
    p = analyze(load_notebook(COMPAT / "taxicab_pipeline.ipynb"))
    assert p.step("data_transformation").inputs == ["column_names", "schema"]
    assert "estimator" in p.step("eval").inputs
    assert p.step("train").parameters == ["BATCH_SIZE", "HIDDEN_LAYER_SIZE", "STEPS"]


def test_iris_branches_runs_step_by_step_like_top_to_bottom(tmp_path):
    pytest.importorskip("sklearn")
    import subprocess
    import sys

    script = SHARED / "bench" / "make_iris_notebook.py"
    if not script.exists():
        pytest.skip(f"{script} is absent")
    try:
        import nbformat  # noqa: F401  (the generator needs it)
    except ImportError:
        pytest.skip("nbformat is not installed")
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True)
    nb = load_notebook(tmp_path / "iris_branches.ipynb")
    p = analyze(nb)
    assert not p.has_errors
    assert p.step("train_rf").depends_on == ["preprocess"] and p.step("train_lr").depends_on == ["preprocess"]
    assert p.metric_sources == {"rf_accuracy": "evaluate", "lr_accuracy": "evaluate"}
    top = run_notebook(nb)
    spaces = run_pipeline(nb, p)
    for metric in p.metrics:
        assert spaces["evaluate"][metric] == top[metric]
    assert spaces["evaluate"]["best"] == top["best"]
