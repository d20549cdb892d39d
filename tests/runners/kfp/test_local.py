"""The compiled file executed by KFP's own local orchestrator (kfp.local's SubprocessRunner): loaded back with
kfp.components.load_component_from_file and called with the parameters, it gives the same metrics as a top-to-bottom
execution of the notebook, also with a parameter overridden.

Offline: PIP_NO_INDEX is set, so a pinned requirement pip would have to download fails the task. The candies notebook
runs with the computed pins (pip finds them all satisfied here: nothing is installed); the examples run with the
notebook setting kale_ext.requirements = [] (an image that holds everything), which keeps the module fast.
"""

from __future__ import annotations

import os
import sys

import pytest

from ..helpers import REPO, run_top_to_bottom
from .helpers import CANDIES, EXAMPLES, compile_file, copy_notebook

pytestmark = pytest.mark.filterwarnings("ignore:Task .* have no effect in the current local runner")


@pytest.fixture
def kfp_local(tmp_path, monkeypatch):
    """kfp.local with the subprocess runner; tasks find this interpreter (python3 on PATH) and this tree's kale_ext."""
    from kfp import local

    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"), raise_on_error=True)
    return local


def compile_and_load(nb, tmp_path):
    from kfp import components

    out = tmp_path / "pipeline.yaml"
    code, _, stderr = compile_file(nb, "-o", str(out))
    assert code == 0, stderr
    return components.load_component_from_file(str(out))


def logged_metrics(task):
    out = {}
    for name, artifact in task.outputs.items():
        assert name.endswith("_metrics")
        out.update(artifact.metadata)
    return out


def numbers(values):
    return {k: float(v) for k, v in values.items()}


def test_example_metrics_equal_top_to_bottom_also_with_a_parameter_overridden(tmp_path, kfp_local):
    src = os.path.join(EXAMPLES, "wine_classification.ipynb")
    nb = copy_notebook(src, tmp_path, requirements=[])
    pipeline = compile_and_load(nb, tmp_path)
    task = pipeline()
    reference = run_top_to_bottom(nb, ["rf_accuracy", "gb_accuracy", "lr_accuracy", "best_f1"])
    assert numbers(logged_metrics(task)) == numbers(reference)
    other = tmp_path / "override"
    other.mkdir()
    changed = copy_notebook(src, other, parameters={"TEST_SIZE": 0.5, "SEED": 3})
    reference2 = run_top_to_bottom(changed, list(reference))
    assert reference2 != reference  # the override matters
    task = pipeline(TEST_SIZE=0.5, SEED=3)
    assert numbers(logged_metrics(task)) == numbers(reference2)


def test_digits_metrics_from_several_steps_equal_top_to_bottom(tmp_path, kfp_local):
    nb = copy_notebook(os.path.join(EXAMPLES, "digits_pipeline.ipynb"), tmp_path, requirements=[])
    task = compile_and_load(nb, tmp_path)()
    metrics = logged_metrics(task)
    assert len(task.outputs) > 1  # metrics logged by the steps that hold them
    assert numbers(metrics) == numbers(run_top_to_bottom(nb, list(metrics)))
    assert set(metrics) == {"svc_accuracy", "knn_accuracy", "explained_variance", "errors"}


@pytest.mark.skipif(not os.path.exists(CANDIES), reason=f"the shared compat corpus is absent ({CANDIES})")
def test_candies_runs_with_its_pinned_requirements_offline(tmp_path, kfp_local, capfd):
    nb = copy_notebook(CANDIES, tmp_path)
    pipeline = compile_and_load(nb, tmp_path)
    command = " ".join(pipeline.pipeline_spec.deployment_spec["executors"]["exec-sack"]["container"]["command"])
    assert "pip install" in command and "'kale-ext==" in command  # each task pip-checks its pins
    pipeline(CANDIES=12)  # raise_on_error: a task that fails (a pin pip would download, offline) raises here
    out = capfd.readouterr()
    text = out.out + out.err
    assert "12 candies" in text and "three kids" in text


def test_types_suffixes_and_failures_through_the_local_orchestrator(tmp_path, kfp_local, capfd):
    """Every KFP parameter type arrives with the notebook's type (a tuple default stays a tuple), a variable read and
    rewritten by a step flows on, a metric held by a pipeline parameter is logged, and a failing step fails the task
    with the notebook cell and line of the error."""
    from ...notebooks import write_notebook

    nb = write_notebook(
        tmp_path / "types.ipynb",
        (
            ["pipeline-parameters"],
            "N = 3\nRATE = 0.5\nNAME = 'x'\nFLAG = True\nITEMS = [1, 2]\nCONF = {'a': 1}\nPAIR = (1, 2)\n",
        ),
        (["step:load"], "df = [N, RATE]\nassert (type(N), type(RATE), type(FLAG)) == (int, float, bool)\n"),
        (["step:clean", "prev:load"], "assert type(PAIR) is tuple and type(CONF) is dict\ndf = df + list(PAIR)\n"),
        (["step:report", "prev:clean"], "total = sum(df) + len(ITEMS) + len(NAME)\nif total > 100:\n    1 / 0\n"),
        (["pipeline-metrics"], "print(total)\nprint(N)\n"),
    )
    pipeline = compile_and_load(nb, tmp_path)
    assert logged_metrics(pipeline()) == {"total": 3 + 0.5 + 3 + 2 + 1, "N": 3}
    capfd.readouterr()
    with pytest.raises(RuntimeError, match="report"):
        pipeline(N=200, PAIR=[5, 6])
    out = capfd.readouterr()
    assert "step 'report' failed (notebook cell 3, line 3): ZeroDivisionError" in out.out + out.err
