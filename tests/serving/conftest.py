"""Fixtures: models trained here and the inference server started in a thread on a free loopback port; runs of real
notebooks (the wine example, a leaf-training notebook), made once per module, and a ServingManager of the leaf run's
store whose server is the real one (``python -m kale_ext.serving.server``) on a free port."""

from __future__ import annotations

import os

import numpy as np
import pytest

from kale_ext.serving.manager import ServingManager
from kale_ext.serving.server import InferenceServer
from kale_ext.store import Store
from tests.notebooks import run_example, run_notebook, write_notebook

from .helpers import Client, model_dir, write_state

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def succeeded_run(path, store):
    run = run_notebook(path, store)
    assert run["status"] == "succeeded", run
    return run


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    store, run = run_example(tmp_path_factory.mktemp("wine"), "wine_classification.ipynb")
    assert run["status"] == "succeeded", run
    return store, run


@pytest.fixture(scope="module")
def leaf(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leaf")
    nb = write_notebook(folder / "leaf.ipynb", *LEAF_CELLS)
    store = Store(str(folder / ".kale"))
    return store, succeeded_run(nb, store)


@pytest.fixture
def manager(leaf):
    """A manager on the leaf run's store whose server is the real one, on a free port; stopped afterwards."""
    store, _ = leaf
    m = ServingManager(store, port=0)
    yield m
    m.stop()


@pytest.fixture(scope="session")
def iris():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)


@pytest.fixture(scope="session")
def binary():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return X[:, :6], y


@pytest.fixture(scope="session")
def logreg(iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    return LogisticRegression(max_iter=1000).fit(X, y)


@pytest.fixture
def serve(tmp_path):
    """serve(models, **limits) -> (server, Client): models as helpers.write_state takes them."""
    started: list[InferenceServer] = []
    clients: list[Client] = []

    def start(models, **limits):
        state = os.path.join(tmp_path, "serving", "state.json")
        write_state(state, models)
        server = InferenceServer(state, "127.0.0.1", 0, **limits)
        server.start_in_thread()
        started.append(server)
        client = Client(server.port)
        clients.append(client)
        return server, client

    yield start
    for c in clients:
        c.close()
    for s in started:
        s.stop()


@pytest.fixture
def iris_dir(tmp_path, logreg):
    return model_dir(str(tmp_path / "iris"), logreg)


def rows(X, n=3):
    return np.asarray(X[:n]).tolist()
