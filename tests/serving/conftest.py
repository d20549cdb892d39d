"""Fixtures: models trained here, and the inference server started in a thread on a free loopback port."""

from __future__ import annotations

import os

import numpy as np
import pytest

from kale_ext.serving.server import InferenceServer

from .helpers import Client, model_dir, write_state


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
