"""Runs of real notebooks for the lineage and exploration tests, made once per module: a small pipeline with a
succeeded, a failed and a downstream step (and its cached re-run), and the wine example with a model served from it."""

from __future__ import annotations

import pytest

from kale_ext.store import Store
from tests.notebooks import run_example, run_notebook, write_notebook

SMALL_CELLS = (
    (["imports"], "import numpy as np\n"),
    (["functions"], "def scale(a, k):\n    return a * k\n"),
    (["pipeline-parameters"], "FACTOR = 3\nLABEL = 'x'\n"),
    (["step:load"], "data = np.arange(12).reshape(3, 4)\nmeta = {'n': 12, 'tags': ('a', 'b')}\n"),
    (["step:double", "prev:load"], "doubled = scale(data, FACTOR)\n"),
    (["step:boom", "prev:load"], "total = int(data.sum())\nraise ValueError(f'boom {total} {meta[\"n\"]} {LABEL}')\n"),
    (["step:report", "prev:double"], "result = float(doubled.sum())\n"),
    (["pipeline-metrics"], "result\n"),
)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """(store, first run, cached re-run, notebook path): the re-run takes load, double and report from the cache."""
    folder = tmp_path_factory.mktemp("small")
    nb = write_notebook(folder / "small.ipynb", *SMALL_CELLS)
    store = Store(str(folder / ".kale"))
    first = run_notebook(nb, store)
    again = run_notebook(nb, store)
    assert first["status"] == again["status"] == "failed"
    return store, first, again, nb


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """(store, run, served version): the wine example, its random forest recorded as served (not started)."""
    from kale_ext.serving.manager import ServingManager

    store, run = run_example(tmp_path_factory.mktemp("wine"), "wine_classification.ipynb")
    assert run["status"] == "succeeded", run
    served = ServingManager(store).deploy(run_id=run["run_id"], variable="rf", name="wine-rf", start=False)
    return store, run, served
