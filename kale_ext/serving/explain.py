"""``:explain`` (V1): per instance, feature attributions that add up, with the base value, to the model's raw output.

The raw output explained: ``decision_function`` for a linear classifier (binary: its one score; multi-class: the column
of the predicted class), ``predict`` for a regressor, and ``predict_proba``'s positive class (multi-class: the predicted
class) for non-linear classifiers. Linear models (a linear estimator, alone or at the end of a Pipeline of affine
scalers) are explained exactly without any library: ``attribution_i = f(b + e_i (x_i - b_i)) - f(b)`` with ``b`` the
background mean (zeros without background.npy), ``base_value = f(b)``; for an affine ``f`` that is coef * (x - b) in
the input's own units, and the sum is exact. XGBoost and LightGBM boosters explain their raw score (the margin, log-odds
for a binary objective), which is what their trees add up. Other models use shap (the optional extra
``kale-ext[explain]``): shap is the maintained reference implementation of Shapley attributions, with an exact polynomial-time TreeExplainer for tree
ensembles (scikit-learn forests and boosting, XGBoost, LightGBM) and the model-agnostic KernelExplainer otherwise, both
enforcing additivity. Without shap a non-linear model's explanation is an ExplainUnavailableError (501) naming the pip
command. Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import KaleError
from .loader import LoadedModel

_AFFINE_STEPS = {"StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "FunctionTransformer", "passthrough"}
_LINEAR_ATTRS = ("coef_", "intercept_")


class ExplainUnavailableError(KaleError):
    status = 501
    code = "explain.unavailable"


def _final(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def is_linear(model: Any) -> bool:
    steps = getattr(model, "steps", None)
    if steps:
        if any(type(s).__name__ not in _AFFINE_STEPS and s != "passthrough" for _, s in steps[:-1]):
            return False
        if any(type(s).__name__ == "FunctionTransformer" and s.func is not None for _, s in steps[:-1]):
            return False
    return all(hasattr(_final(model), a) for a in _LINEAR_ATTRS)


def _raw_output(model: Any, x: np.ndarray, linear: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(raw output per row as a matrix of columns, the classes when a classifier)."""
    classes = getattr(model, "classes_", None)
    if linear and hasattr(model, "decision_function"):
        out = np.asarray(model.decision_function(x), dtype=np.float64)
        return (out.reshape(-1, 1) if out.ndim == 1 else out), classes
    if classes is not None and hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(x), dtype=np.float64), classes
    out = np.asarray(model.predict(x), dtype=np.float64)
    return (out.reshape(-1, 1) if out.ndim == 1 else out), None


def _column(out: np.ndarray, classes: np.ndarray | None, linear: bool) -> np.ndarray:
    """Which output column each row explains: binary -> the single score / the positive class; else the argmax."""
    if out.shape[1] == 1:
        return np.zeros(len(out), dtype=int)
    if out.shape[1] == 2 and classes is not None and not linear:
        return np.ones(len(out), dtype=int)
    return np.argmax(out, axis=1)


def _booster_margin(kind: str, booster: Any, matrix: np.ndarray) -> np.ndarray:
    """A booster's raw score (log-odds for a binary objective), what shap's TreeExplainer attributes for boosters."""
    if kind == "xgboost":
        import xgboost as xgb

        out = booster.predict(xgb.DMatrix(matrix), output_margin=True)
    else:
        out = booster.predict(matrix, raw_score=True)
    out = np.asarray(out, dtype=np.float64)
    return out.reshape(-1, 1) if out.ndim == 1 else out


class Explainer:
    def __init__(self, loaded: LoadedModel):
        self.loaded = loaded
        self.model = loaded.model
        self.linear = loaded.kind == "sklearn" and is_linear(self.model)
        spec = loaded.meta.get("explainer") or {}
        self.background: np.ndarray | None = None
        if spec.get("background"):
            self.background = np.load(os.path.join(loaded.model_dir, spec["background"]), allow_pickle=False)
        self._shap: Any = None

    def explain(self, x: Any) -> dict[str, Any]:
        names = list(x.columns) if hasattr(x, "columns") else self.loaded.feature_names
        matrix = np.asarray(x, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        names = [str(n) for n in names] if names else [f"x{i}" for i in range(matrix.shape[1])]
        attributions, base = self._linear(matrix) if self.linear else self._with_shap(matrix, x)
        return {
            "explanations": [
                {"feature_names": names, "attributions": a.tolist(), "base_value": float(b)}
                for a, b in zip(attributions, base, strict=True)
            ]
        }

    def _call(self, matrix: np.ndarray, template: Any) -> tuple[np.ndarray, np.ndarray | None]:
        frame = matrix
        if hasattr(template, "columns"):
            import pandas as pd

            frame = pd.DataFrame(matrix, columns=template.columns)
        return _raw_output(self.model, frame, self.linear)

    def _linear(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, d = matrix.shape
        b = self.background.mean(axis=0) if self.background is not None else np.zeros(d)
        base_out, classes = _raw_output(self.model, b.reshape(1, -1), True)
        out, _ = _raw_output(self.model, matrix, True)
        cols = _column(out, classes, True)
        attributions = np.empty((n, d))
        for i in range(d):
            probe = np.tile(b, (n, 1))
            probe[:, i] = matrix[:, i]
            pout, _ = _raw_output(self.model, probe, True)
            attributions[:, i] = pout[np.arange(n), cols] - base_out[0, cols]
        return attributions, base_out[0, cols]

    def _with_shap(self, matrix: np.ndarray, template: Any) -> tuple[np.ndarray, np.ndarray]:
        try:
            import shap
        except ImportError:
            raise ExplainUnavailableError(
                f"Explaining a {type(self.model).__name__} needs shap: pip install 'kale-ext[explain]'."
            ) from None
        if self.loaded.kind in ("xgboost", "lightgbm"):
            out, classes = _booster_margin(self.loaded.kind, self.model, matrix), None
        elif not hasattr(self.model, "predict"):  # a torch module: its forward output, through the loader's predict
            raw = np.asarray(self.loaded.predict(matrix), dtype=np.float64)
            out, classes = (raw.reshape(-1, 1) if raw.ndim == 1 else raw), None
        else:
            out, classes = _raw_output(self.model, matrix, False)
        cols = _column(out, classes, self.loaded.kind in ("xgboost", "lightgbm"))
        values, expected = self._shap_values(shap, matrix, out.shape[1])
        rows = np.arange(len(matrix))
        return values[rows, :, cols], expected[cols]

    def _shap_values(self, shap: Any, matrix: np.ndarray, n_out: int) -> tuple[np.ndarray, np.ndarray]:
        """shap values as (rows, features, outputs) and the expected value per output."""
        if self._shap is None:
            self._shap = self._make_explainer(shap, matrix)
        explanation = self._shap(matrix)
        values = np.asarray(explanation.values, dtype=np.float64)
        base = np.asarray(explanation.base_values, dtype=np.float64)
        if values.ndim == 2:
            values = values[:, :, None]
        if base.ndim == 1:
            base = base[:, None]
        if values.shape[2] != n_out and n_out == 2 and values.shape[2] == 1:  # a margin-only binary explanation
            values = np.concatenate([-values, values], axis=2)
            base = np.concatenate([1 - base, base], axis=1)
        return values, base[0]

    def _make_explainer(self, shap: Any, matrix: np.ndarray) -> Any:
        background = self.background if self.background is not None else np.zeros((1, matrix.shape[1]))
        tree_like = self.loaded.kind in ("xgboost", "lightgbm") or hasattr(_final(self.model), "estimators_")
        if tree_like and not getattr(self.model, "steps", None):
            model_output = "probability" if hasattr(self.model, "predict_proba") else "raw"
            if model_output == "probability":
                return shap.TreeExplainer(self.model, background, model_output="probability")
            return shap.TreeExplainer(self.model)
        fn = self.model.predict_proba if hasattr(self.model, "predict_proba") else self.loaded.predict
        return shap.KernelExplainer(lambda m: np.asarray(fn(m), dtype=np.float64), background)
