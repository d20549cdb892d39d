"""Models a step binds: found among the names its cells bound, saved when no later step reads them, reported in
result.json; values that are no models and steps without models cost nothing but type checks."""

from __future__ import annotations

import sys

import numpy as np

from kale_ext.steps.models import bound_names, find_models, model_kind, snapshot

from .test_program import run_program, spec_of


def test_the_step_program_keeps_the_models_its_cells_bind(tmp_path):
    spec = spec_of(
        [
            (
                3,
                "from sklearn.linear_model import LinearRegression\n"
                "X = np.arange(6.0).reshape(3, 2)\n"
                "reg = LinearRegression().fit(X, [1.0, 2.0, 3.0])\n"
                "shared = LinearRegression().fit(X, [0.0, 1.0, 2.0])\n"
                "class Rule:\n    def predict(self, X):\n        return np.asarray(X)[:, 0]\n"
                "rule = Rule()\n"
                "import threading\n"
                "class Locked:\n    def __init__(self):\n        self.lock = threading.Lock()\n"
                "    def predict(self, X):\n        return X\n"
                "locked = Locked()\n",
            )
        ],
        prelude=[(1, "import numpy as np")],
        outputs=["shared"],
    )
    proc, result = run_program(tmp_path, spec)
    assert result["status"] == "succeeded", proc.stderr
    models = result["models"]
    assert set(models) == {"reg", "shared", "rule"}
    assert models["shared"] == {"kind": "sklearn", "artifact": None}, "an output is saved once, as the output"
    assert models["reg"]["kind"] == "sklearn" and models["reg"]["artifact"]["serializer"] == "joblib"
    assert models["rule"]["kind"] == "pyfunc" and models["rule"]["artifact"]["path"].endswith("models/rule.cpkl")
    assert "model 'locked' is not kept for serving" in proc.stderr, "an unpicklable model is left out, not fatal"
    assert list(result["outputs"]) == ["shared"]


def test_a_step_without_models_reports_none(tmp_path):
    proc, result = run_program(
        tmp_path, spec_of([(2, "x = [1, 2]\ny = {'a': np.zeros(2)}")], prelude=[(1, "import numpy as np")])
    )
    assert result["status"] == "succeeded", proc.stderr
    assert result["models"] == {}
    assert not (tmp_path / "out" / "models").exists()


def test_only_names_the_cells_bound_or_rebound_count():
    ns = {"kept": object(), "rebound": 1, "np": np}
    before = snapshot(ns)
    ns["rebound"] = 2
    ns["new"] = 3
    ns["_private"] = 4
    assert sorted(bound_names(ns, before)) == ["new", "rebound"]


def test_model_kinds_are_decided_from_modules_already_imported():
    from sklearn.cluster import KMeans
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    assert model_kind(make_pipeline(StandardScaler(), DecisionTreeClassifier())) == "sklearn"
    assert model_kind(KMeans()) == "sklearn"
    assert model_kind(StandardScaler()) is None, "no predict: KServe's sklearn server could not answer :predict"
    assert model_kind(DecisionTreeClassifier) is None and model_kind(sys) is None and model_kind(print) is None
    assert find_models({"a": KMeans(), "b": 1}, ["a", "b"]) == {"a": "sklearn"}
