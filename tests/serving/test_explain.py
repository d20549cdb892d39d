"""``:explain``: attributions plus base value equal the model's raw output (1e-6 linear, 1e-4 trees), per instance."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from .helpers import model_dir


def _explain(client, name, X):
    status, body, _ = client.call("POST", f"/v1/models/{name}:explain", {"instances": X.tolist()})
    assert status == 200, body
    assert len(body["explanations"]) == len(X)
    return body["explanations"]


def _additive(explanations, raw, tol):
    for e, r in zip(explanations, raw, strict=True):
        assert abs(sum(e["attributions"]) + e["base_value"] - r) <= tol, (sum(e["attributions"]) + e["base_value"], r)


def test_linear_models_are_exact(serve, tmp_path, binary):
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = binary
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    reg = LinearRegression().fit(X[:, 1:], X[:, 0])
    names = [f"f{i}" for i in range(6)]
    _, client = serve(
        {
            "clf": {"versions": {"1": model_dir(str(tmp_path / "c"), clf, feature_names=names, background=X[:50])}},
            "reg": {"versions": {"1": model_dir(str(tmp_path / "r"), reg, n_features=5)}},
        }
    )
    explanations = _explain(client, "clf", X[:4])
    assert explanations[0]["feature_names"] == names
    _additive(explanations, clf.decision_function(X[:4]), 1e-6)
    # base value is f(background mean); attributions are coef * (x - mean) in the input's own units
    mean = X[:50].mean(axis=0)
    assert explanations[0]["base_value"] == pytest.approx(clf.decision_function(mean.reshape(1, -1))[0], abs=1e-9)
    lr = clf[-1]
    scale = clf[0].scale_
    np.testing.assert_allclose(explanations[1]["attributions"], lr.coef_[0] / scale * (X[1] - mean), atol=1e-6)
    reg_expl = _explain(client, "reg", X[:3, 1:])
    _additive(reg_expl, reg.predict(X[:3, 1:]), 1e-6)
    assert reg_expl[0]["base_value"] == pytest.approx(reg.intercept_, abs=1e-9)  # no background: zeros


def test_multiclass_linear_explains_the_predicted_class(serve, iris_dir, logreg, iris):
    X, _ = iris
    _, client = serve({"iris": {"versions": {"1": iris_dir}}})
    scores = logreg.decision_function(X[[0, 70, 140]])
    _additive(_explain(client, "iris", X[[0, 70, 140]]), scores.max(axis=1), 1e-6)


def test_trees_through_shap(serve, tmp_path, binary):
    pytest.importorskip("shap")
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier

    X, y = binary
    forest = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0).fit(X, y)
    gbr = GradientBoostingRegressor(n_estimators=20, random_state=0).fit(X[:, 1:], X[:, 0])
    _, client = serve(
        {
            "forest": {"versions": {"1": model_dir(str(tmp_path / "f"), forest, background=X[:40])}},
            "gbr": {"versions": {"1": model_dir(str(tmp_path / "g"), gbr, n_features=5)}},
        }
    )
    _additive(_explain(client, "forest", X[:5]), forest.predict_proba(X[:5])[:, 1], 1e-4)
    _additive(_explain(client, "gbr", X[:5, 1:]), gbr.predict(X[:5, 1:]), 1e-4)


def test_xgboost_margin_through_shap(serve, tmp_path, binary):
    pytest.importorskip("shap")
    xgb = pytest.importorskip("xgboost")
    X, y = binary
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(X, label=y), num_boost_round=8)
    _, client = serve({"x": {"versions": {"1": model_dir(str(tmp_path / "x"), booster, "xgboost", n_features=6)}}})
    margin = booster.predict(xgb.DMatrix(X[:4]), output_margin=True)
    _additive(_explain(client, "x", X[:4]), margin, 1e-4)


def test_kernel_explainer_for_other_models(serve, tmp_path, binary):
    pytest.importorskip("shap")
    from sklearn.neighbors import KNeighborsRegressor

    X, _ = binary
    knn = KNeighborsRegressor(n_neighbors=3).fit(X[:, 1:], X[:, 0])
    _, client = serve(
        {"k": {"versions": {"1": model_dir(str(tmp_path / "k"), knn, n_features=5, background=X[:5, 1:])}}}
    )
    _additive(_explain(client, "k", X[10:12, 1:]), knn.predict(X[10:12, 1:]), 1e-4)


def test_without_shap_a_non_linear_model_answers_501(serve, tmp_path, binary, monkeypatch):
    from sklearn.ensemble import RandomForestRegressor

    X, _ = binary
    forest = RandomForestRegressor(n_estimators=3, random_state=0).fit(X[:, 1:], X[:, 0])
    monkeypatch.setitem(sys.modules, "shap", None)  # import shap raises ImportError
    _, client = serve({"f": {"versions": {"1": model_dir(str(tmp_path / "f"), forest, n_features=5)}}})
    status, body, _ = client.call("POST", "/v1/models/f:explain", {"instances": X[:1, 1:].tolist()})
    assert status == 501 and "pip install 'kale-ext[explain]'" in body["error"]
    assert client.call("POST", "/v1/models/f:predict", {"instances": X[:1, 1:].tolist()})[0] == 200


def test_torch_module_through_the_kernel_explainer(serve, tmp_path):
    pytest.importorskip("shap")
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    background = np.zeros((1, 3))
    d = model_dir(str(tmp_path / "t"), net, "pytorch", n_features=3, out_type="FP32", background=background)
    _, client = serve({"t": {"versions": {"1": d}}})
    X = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]])
    with torch.no_grad():
        raw = net(torch.as_tensor(X, dtype=torch.float32)).numpy().reshape(-1)
    _additive(_explain(client, "t", X), raw, 1e-4)
