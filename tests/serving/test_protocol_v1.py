"""KServe's V1 protocol over real HTTP: routes, bodies and status codes, against a LogisticRegression trained here."""

from __future__ import annotations

import numpy as np

from .helpers import Failing, model_dir


def test_v1_routes_answer_as_kserve(serve, iris_dir, iris, logreg):
    _, client = serve({"iris": {"versions": {"1": iris_dir}}})
    X, _ = iris
    assert client.call("GET", "/v1/models")[:2] == (200, {"models": ["iris"]})
    status, body, _ = client.call("GET", "/v1/models/iris")
    assert (status, body) == (200, {"name": "iris", "ready": True})
    status, body, headers = client.call("POST", "/v1/models/iris:predict", {"instances": X[:5].tolist()})
    assert status == 200 and headers["content-type"] == "application/json"
    assert body == {"predictions": logreg.predict(X[:5]).tolist()}
    # KServe's get_predict_input also takes "inputs" in a V1 body
    status, body, _ = client.call("POST", "/v1/models/iris:predict", {"inputs": X[:2].tolist()})
    assert body == {"predictions": logreg.predict(X[:2]).tolist()}


def test_v1_bad_requests(serve, iris_dir):
    _, client = serve({"iris": {"versions": {"1": iris_dir}}})
    status, body, _ = client.call("POST", "/v1/models/iris:predict", raw=b"{not json")
    assert status == 400 and body["error"].startswith("Unrecognized request format")
    status, body, _ = client.call("POST", "/v1/models/iris:predict", {"rows": [[1, 2, 3, 4]]})
    assert status == 400 and "'instances'" in body["error"]
    status, body, _ = client.call("POST", "/v1/models/iris:predict", [[1, 2, 3, 4]])
    assert status == 400 and "JSON object" in body["error"]
    status, body, _ = client.call("POST", "/v1/models/other:predict", {"instances": [[1, 2, 3, 4]]})
    assert (status, body) == (404, {"error": "Model with name other does not exist."})
    status, body, _ = client.call("GET", "/v1/models/other")
    assert (status, body) == (404, {"error": "Model with name other does not exist."})
    status, body, _ = client.call("GET", "/v1/models/iris:predict")
    assert status == 405
    status, body, _ = client.call("GET", "/nowhere")
    assert (status, body) == (404, {"detail": "Not Found"})


def test_model_error_is_500_with_its_message_and_the_server_keeps_serving(serve, tmp_path):
    d = model_dir(str(tmp_path / "failing"), Failing(), "pyfunc")
    _, client = serve({"f": {"versions": {"1": d}}})
    status, body, _ = client.call("POST", "/v1/models/f:predict", {"instances": [[1, -2]]})
    assert (status, body) == (500, {"error": "negative inputs are not allowed"})
    status, body, _ = client.call("POST", "/v1/models/f:predict", {"instances": [[1, 2], [3, 4]]})
    assert (status, body) == (200, {"predictions": [3, 7]})
    # ragged instances are the client's mistake: 400, and the server still answers
    status, body, _ = client.call("POST", "/v1/models/f:predict", {"instances": [[1, 2], [3]]})
    assert status == 400 and "array" in body["error"]
    assert client.call("POST", "/v1/models/f:predict", {"instances": [[5, 5]]})[:2] == (200, {"predictions": [10]})


def test_transformer_takes_a_dict_of_named_features(serve, tmp_path, iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    model = LogisticRegression(max_iter=1000).fit(X, y)
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    source = (
        "import numpy as np\n"
        f"FEATURES = {names!r}\n"
        "SPECIES = ['setosa', 'versicolor', 'virginica']\n"
        "def preprocess(instances):\n"
        "    return np.array([[row[f] for f in FEATURES] for row in instances])\n"
        "def postprocess(predictions):\n"
        "    return [SPECIES[int(p)] for p in predictions]\n"
    )
    d = model_dir(str(tmp_path / "t"), model, transformer=source)
    _, client = serve({"iris": {"versions": {"1": d}}})
    instances = [dict(zip(names, row, strict=True)) for row in X[[0, 60, 120]].tolist()]
    status, body, _ = client.call("POST", "/v1/models/iris:predict", {"instances": instances})
    species = ["setosa", "versicolor", "virginica"]
    assert (status, body) == (200, {"predictions": [species[p] for p in model.predict(X[[0, 60, 120]])]})
    # the transformer's own error is a 500 naming the function
    status, body, _ = client.call("POST", "/v1/models/iris:predict", {"instances": [{"sepal_length": 1.0}]})
    assert status == 500 and body["error"].startswith("preprocess: KeyError")


def test_dict_instances_without_transformer_become_a_frame_in_feature_order(serve, tmp_path, iris):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    names = ["a", "b", "c", "d"]
    frame = pd.DataFrame(X, columns=names)
    model = LogisticRegression(max_iter=1000).fit(frame, y)
    d = model_dir(str(tmp_path / "df"), model, feature_names=names)
    _, client = serve({"m": {"versions": {"1": d}}})
    shuffled = [{"d": r[3], "c": r[2], "b": r[1], "a": r[0]} for r in X[[0, 100]].tolist()]
    status, body, _ = client.call("POST", "/v1/models/m:predict", {"instances": shuffled})
    assert (status, body) == (200, {"predictions": model.predict(frame.iloc[[0, 100]]).tolist()})
    status, body, _ = client.call("POST", "/v1/models/m:predict", {"instances": [{"a": 1.0}]})
    assert status == 400 and "['b', 'c', 'd']" in body["error"]
    assert np.isfinite(X).all()


def test_idle_keep_alive_connections_are_closed(serve, iris_dir, monkeypatch):
    import socket

    from kale_ext.serving import http

    monkeypatch.setattr(http, "KEEP_ALIVE_S", 0.3)
    server, client = serve({"iris": {"versions": {"1": iris_dir}}})
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        s.settimeout(5)
        assert s.recv(4096) == b""  # closed by the server once idle
    assert client.call("GET", "/v2/health/live")[0] == 200  # new connections are still served
