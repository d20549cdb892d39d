"""The two models of the protocol fixtures, trained deterministically (iris, lbfgs, no randomness) into KServe's
sklearn layout: DIR/m/model.joblib (LogisticRegression) and DIR/pipe/model.joblib (StandardScaler + LogisticRegression).
Imported by record_kserve.py (in KServe's side environment) and the compat test, so both serve the same fits."""

from __future__ import annotations

from pathlib import Path


def train_models(root: Path) -> dict[str, Path]:
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_iris(return_X_y=True)
    models = {
        "m": LogisticRegression(max_iter=1000).fit(x, y),
        "pipe": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y),
    }
    dirs = {}
    for name, model in models.items():
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, d / "model.joblib")
        dirs[name] = d
    return dirs
