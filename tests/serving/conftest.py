"""Runs of real notebooks for the serving tests (the wine example, a leaf-training notebook), made once per module,
and a ServingManager whose server is the test-only stand-in (stand_in_server.py) until part serve-http's server is
merged."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from kale_ext.commands.run import load_pipeline
from kale_ext.runners.local import LocalRunner
from kale_ext.serving.manager import ServingManager
from kale_ext.store import Store
from tests.notebooks import write_notebook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAND_IN = (sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "stand_in_server.py"))

LEAF_CELLS = (
    (
        ["imports"],
        "import numpy as np\nfrom sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression\n",
    ),
    (
        ["functions"],
        "def preprocess(instances):\n    return np.asarray(instances, dtype=float) * SCALE\n\n\nclass Doubler:\n    def predict(self, X):\n        return np.asarray(X).sum(axis=1) * 2\n",
    ),
    (["pipeline-parameters"], "SCALE = 1.0\n"),
    (["step:data"], "X, y = load_iris(return_X_y=True)\n"),
    (
        ["step:train", "prev:data"],
        "clf = LogisticRegression(max_iter=500).fit(X * SCALE, y)\nscore = clf.score(X, y)\ndoubler = Doubler()\nnot_a_model = {'a': 1}\n",
    ),
)


def run_notebook(path, store):
    runner = LocalRunner(store)
    run = runner.wait(runner.start(load_pipeline(str(path)), str(path)), timeout=300)
    assert run["status"] == "succeeded", run
    return run


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wine")
    nb = folder / "wine_classification.ipynb"
    shutil.copy(os.path.join(REPO, "examples", "wine_classification.ipynb"), nb)
    store = Store(str(folder / ".kale"))
    return store, run_notebook(nb, store)


@pytest.fixture(scope="module")
def leaf(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leaf")
    nb = write_notebook(folder / "leaf.ipynb", *LEAF_CELLS)
    store = Store(str(folder / ".kale"))
    return store, run_notebook(nb, store)


@pytest.fixture
def manager(leaf):
    """A manager on the leaf run's store whose server is the stand-in, on a free port; stopped afterwards."""
    store, _ = leaf
    m = ServingManager(store, port=0, server_command=STAND_IN)
    yield m
    m.stop()
