"""Every servable kind loads from its KServe layout and answers like the model itself; a model that cannot load is
"not ready" (503 with the reason) and never stops the server."""

from __future__ import annotations

import os

import numpy as np
import pytest

from kale_ext.serving.loader import ModelLoadError, load_model_dir

from .helpers import model_dir


def _v1(client, name, X):
    status, body, _ = client.call("POST", f"/v1/models/{name}:predict", {"instances": X.tolist()})
    assert status == 200, body
    return np.asarray(body["predictions"])


def test_sklearn_pipeline_and_forest(serve, tmp_path, iris):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = iris
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    _, client = serve(
        {
            "pipe": {"versions": {"1": model_dir(str(tmp_path / "p"), pipe)}},
            "forest": {"versions": {"1": model_dir(str(tmp_path / "f"), forest)}},
        }
    )
    assert (_v1(client, "pipe", X[::10]) == pipe.predict(X[::10])).all()
    assert (_v1(client, "forest", X[::10]) == forest.predict(X[::10])).all()


def test_xgboost_booster_through_dmatrix(serve, tmp_path, binary):
    xgb = pytest.importorskip("xgboost")
    X, y = binary
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(X, label=y), num_boost_round=10)
    _, client = serve({"x": {"versions": {"1": model_dir(str(tmp_path / "x"), booster, "xgboost", n_features=6)}}})
    np.testing.assert_allclose(_v1(client, "x", X[:8]), booster.predict(xgb.DMatrix(X[:8])), rtol=1e-6)
    assert os.path.isfile(tmp_path / "x" / "model.bst")


def test_lightgbm_booster(serve, tmp_path, binary):
    lgb = pytest.importorskip("lightgbm")
    X, y = binary
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7}, lgb.Dataset(X, y), num_boost_round=10)
    _, client = serve({"l": {"versions": {"1": model_dir(str(tmp_path / "l"), booster, "lightgbm", n_features=6)}}})
    np.testing.assert_allclose(_v1(client, "l", X[:8]), booster.predict(X[:8]), rtol=1e-6)


def test_torch_module_in_eval_mode(serve, tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5), torch.nn.Linear(4, 2))
    net.train()  # the server must switch dropout off
    d = model_dir(str(tmp_path / "t"), net, "pytorch", n_features=3, out_type="FP32")
    _, client = serve({"t": {"versions": {"1": d}}})
    X = np.arange(6, dtype=np.float32).reshape(2, 3)
    net.eval()
    with torch.no_grad():
        expected = net(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(_v1(client, "t", X), expected, rtol=1e-5)
    np.testing.assert_allclose(_v1(client, "t", X), expected, rtol=1e-5)


def test_a_model_that_fails_to_load_is_not_ready_with_its_reason(serve, tmp_path, iris_dir):
    broken = tmp_path / "broken"
    model_dir(str(broken), object(), "pyfunc")  # an object without predict
    corrupt = tmp_path / "corrupt"
    model_dir(str(corrupt), {"a": 1})
    (corrupt / "model.joblib").write_bytes(b"not a joblib file")
    _, client = serve(
        {
            "broken": {"versions": {"1": str(broken)}},
            "corrupt": {"versions": {"1": str(corrupt)}},
            "missing": {"versions": {"1": str(tmp_path / "nowhere")}},
            "iris": {"versions": {"1": iris_dir}},
        }
    )
    status, body, _ = client.call("GET", "/v1/models/broken")
    assert status == 503 and body["ready"] is False and "no callable predict" in body["error"]
    assert body["error"].startswith("Model with name broken is not ready.")
    status, body, _ = client.call("GET", "/v2/models/corrupt/ready")
    assert status == 503 and body["ready"] is False and "Cannot load the sklearn model" in body["error"]
    status, body, _ = client.call("POST", "/v1/models/missing:predict", {"instances": [[1]]})
    assert status == 503 and "does not exist" in body["error"]
    status, body, _ = client.call("POST", "/v2/models/missing/infer", {"inputs": []})
    assert status == 503
    assert client.call("GET", "/v2/health/ready")[0] == 503
    assert client.call("GET", "/v2/health/live")[:2] == (200, {"live": True})
    assert client.call("POST", "/v1/models/iris:predict", {"instances": [[5.1, 3.5, 1.4, 0.2]]})[0] == 200


def test_loader_errors_name_the_problem(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model_dir(str(tmp_path / "none"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="neither kale-model.json nor a model file"):
        load_model_dir(str(tmp_path / "empty"))
    d = model_dir(str(tmp_path / "t"), object(), "pyfunc", transformer="raise SystemExit(3)\n")
    with pytest.raises(ModelLoadError, match="failed to import: SystemExit"):  # notebook code cannot exit the server
        load_model_dir(d)
    d = model_dir(str(tmp_path / "t"), object(), "pyfunc")
    with pytest.raises(ModelLoadError, match="no callable predict"):
        load_model_dir(d)
    (tmp_path / "t" / "kale-model.json").write_text('{"kind": "tensorflow"}')
    with pytest.raises(ModelLoadError, match="'kind' must be one of"):
        load_model_dir(d)


def test_transformer_import_failure_is_a_load_error(tmp_path, logreg):
    d = model_dir(str(tmp_path / "t"), logreg, transformer="import not_a_module_anywhere\n")
    with pytest.raises(ModelLoadError, match="Transformer .* failed to import: ModuleNotFoundError"):
        load_model_dir(d)
    d = model_dir(str(tmp_path / "u"), logreg, transformer="def other(x):\n    return x\n")
    with pytest.raises(ModelLoadError, match="defines no function 'preprocess'"):
        load_model_dir(d)


PRELUDE = (
    "import numpy as np\nclass Doubler:\n    def predict(self, x):\n        return np.asarray(x).sum(axis=1) * 2\n"
)


def test_notebook_classes_pickled_from_main_load_through_the_prelude(serve, tmp_path):
    """A model whose class the notebook defined is pickled as __main__.Doubler; the server finds it in the prelude."""
    import pickle
    import sys

    main = sys.modules["__main__"]
    namespace: dict = {"__name__": "__main__"}
    exec(PRELUDE, namespace)
    doubler_cls = namespace["Doubler"]
    doubler_cls.__module__ = "__main__"
    main.Doubler = doubler_cls
    try:
        payload = pickle.dumps(doubler_cls())
    finally:
        del main.Doubler
    d = model_dir(str(tmp_path / "d"), object(), "pyfunc")
    (tmp_path / "d" / "model.pkl").write_bytes(payload)
    meta_path = tmp_path / "d" / "kale-model.json"
    import json

    meta = json.loads(meta_path.read_text())
    meta["transformer"] = {"file": "transformer.py", "preprocess": None, "postprocess": None}
    (tmp_path / "d" / "transformer.py").write_text(PRELUDE)
    meta_path.write_text(json.dumps(meta))
    _, client = serve({"d": {"versions": {"1": d}}})
    assert client.call("POST", "/v1/models/d:predict", {"instances": [[1, 2], [3, 4]]})[:2] == (
        200,
        {"predictions": [6, 14]},
    )
    assert not hasattr(main, "Doubler")
    # without the prelude the same file cannot load: the model is not ready, with the reason
    meta["transformer"] = None
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="Doubler"):
        load_model_dir(d)
