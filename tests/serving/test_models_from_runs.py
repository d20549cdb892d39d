"""Models kept from runs: the wine example's three models and a leaf training step's model, their export into KServe
model directories that load back and predict as the in-run model, metadata and lineage, transformer, bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from kale_ext.errors import NotFoundError
from kale_ext.marshal import ArtifactEntry, load_value
from kale_ext.serving.export import export_model, load_exported
from kale_ext.serving.sources import NotServableError, export_from_run, servable
from kale_ext.steps.models import model_kind


def artifact(store, run_id, step, name):
    [a] = [a for a in store.step_artifacts(run_id, step) if a["name"] == name]
    return load_value(ArtifactEntry.from_json(a))


def test_the_wine_runs_models_are_servable_with_their_kind_and_hash(wine):
    store, run = wine
    models = servable(store, run["run_id"])
    assert [(m["step"], m["variable"], m["kind"]) for m in models] == [
        ("train_rf", "rf", "sklearn"),
        ("train_gb", "gb", "sklearn"),
        ("train_lr", "lr", "sklearn"),
    ]
    outputs = {o["name"]: o for s in run["steps"] for o in s["outputs"]}
    assert all(m["hash"] == outputs[m["variable"]]["hash"] for m in models), "outputs that are models: saved once"
    assert models[0]["type"] == "sklearn.ensemble._forest.RandomForestClassifier"


@pytest.mark.parametrize("variable,metric,explainer", [("rf", "rf_accuracy", "tree"), ("lr", "lr_accuracy", "linear")])
def test_an_exported_wine_model_loads_back_and_scores_as_in_the_run(wine, variable, metric, explainer):
    store, run = wine
    rid = run["run_id"]
    directory, meta = export_from_run(store, rid, variable)
    assert os.path.isfile(os.path.join(directory, "model.joblib"))
    assert directory == os.path.join(store.folder, "models", meta["source"]["hash"].partition(":")[2])
    exported = load_exported(directory)
    X_test, y_test = artifact(store, rid, "preprocess", "X_test"), artifact(store, rid, "preprocess", "y_test")
    in_run = artifact(store, rid, f"train_{variable}", variable)
    assert np.array_equal(exported.predict(X_test), in_run.predict(X_test))
    assert float((exported.predict(X_test) == y_test).mean()) == pytest.approx(run["metrics"][metric])
    on_disk = json.load(open(os.path.join(directory, "kale-model.json")))
    assert on_disk == meta
    assert meta["kind"] == "sklearn" and meta["file"] == "model.joblib" and meta["format"]["name"] == "sklearn"
    assert meta["format"]["version"].count(".") >= 1
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, 13]}]
    assert meta["outputs"] == [{"name": "output-0", "datatype": "INT64", "shape": [-1]}]
    assert meta["explainer"] == {"kind": explainer, "background": "background.npy"}
    background = np.load(os.path.join(directory, "background.npy"))
    X_train = artifact(store, rid, "preprocess", "X_train")
    assert background.shape == (100, 13) and all(any(np.array_equal(r, t) for t in X_train) for r in background)
    assert meta["transformer"] is None, "the wine notebook defines no preprocess/postprocess function"
    step = f"train_{variable}"
    assert meta["source"] == {"run_id": rid, "step": step, "variable": variable, "hash": meta["source"]["hash"]}
    again, _ = export_from_run(store, rid, variable)
    assert again == directory, "exported once per content hash"


def test_a_leaf_steps_models_are_kept_though_no_step_reads_them(leaf):
    store, run = leaf
    train = [s for s in run["steps"] if s["name"] == "train"][0]
    assert train["outputs"] == [], "no later step reads them: they are no outputs"
    assert [(m["variable"], m["kind"]) for m in servable(store, run["run_id"])] == [
        ("clf", "sklearn"),
        ("doubler", "pyfunc"),
    ]


def test_a_leaf_model_exports_with_the_notebooks_transformer(leaf):
    store, run = leaf
    directory, meta = export_from_run(store, run["run_id"], "clf")
    assert meta["transformer"] == {"file": "transformer.py", "preprocess": "preprocess", "postprocess": None}
    assert meta["inputs"][0]["shape"] == [-1, 4] and meta["explainer"]["kind"] == "linear"
    namespace: dict = {}
    exec(open(os.path.join(directory, "transformer.py")).read(), namespace)
    rows = namespace["preprocess"]([[5.1, 3.5, 1.4, 0.2]])
    assert rows.dtype == np.float64 and rows.tolist() == [[5.1, 3.5, 1.4, 0.2]], "SCALE, the run's parameter, is set"
    assert load_exported(directory).predict(rows).tolist() == [0]


def test_an_object_with_predict_is_served_as_pyfunc_from_the_cloudpickle_file(leaf):
    store, run = leaf
    directory, meta = export_from_run(store, run["run_id"], "doubler")
    assert meta["kind"] == "pyfunc" and meta["file"] == "model.pkl" and meta["explainer"]["kind"] == "kernel"
    assert load_exported(directory).predict([[1, 2], [3, 4]]).tolist() == [6, 14]


def test_a_torch_module_exports_to_model_pt(tmp_path):
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    assert model_kind(module) == "pytorch"
    meta = export_model(module, str(tmp_path / "m"), kind="pytorch")
    assert meta["file"] == "model.pt"
    assert meta["inputs"][0] == {"name": "input-0", "datatype": "FP32", "shape": [-1, 3]}
    assert meta["outputs"][0]["shape"] == [-1, 2]
    x = torch.ones(1, 3)
    assert torch.allclose(load_exported(str(tmp_path / "m"))(x), module(x))


@pytest.mark.parametrize(
    "value,kind",
    [
        ({"a": 1}, None),
        (np.zeros(3), None),
        (len, None),
        (type("C", (), {"predict": lambda s, x: x}), None),
        (1.5, None),
    ],
)
def test_values_that_are_not_models(value, kind):
    assert model_kind(value) is kind


def test_bad_input_names_the_type_and_what_can_be_served(leaf):
    store, run = leaf
    rid = run["run_id"]
    with pytest.raises(NotServableError) as info:
        export_from_run(store, rid, "X")
    assert "numpy.ndarray, not a model" in info.value.message and "callable predict" in info.value.message
    assert info.value.status == 400 and info.value.code == "model.not_servable"
    with pytest.raises(NotFoundError, match="kept no model named 'score'.*clf, doubler"):
        export_from_run(store, rid, "score")
    with pytest.raises(NotFoundError, match="Step 'data' .* binds no model 'clf'; train does"):
        export_from_run(store, rid, "clf", step="data")
    with pytest.raises(NotFoundError, match="has no step 'nope'"):
        export_from_run(store, rid, "clf", step="nope")
    with pytest.raises(NotFoundError, match="No run 'nope'"):
        servable(store, "nope")


def test_a_cached_step_keeps_its_model_artifacts(leaf):
    from .conftest import succeeded_run

    store, run = leaf
    again = succeeded_run(run["notebook"], store)
    assert [s["status"] for s in again["steps"]] == ["cached", "cached"]
    assert servable(store, again["run_id"]) == servable(store, run["run_id"])


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("api", ["sklearn", "booster"])
def test_boosted_models_export_to_their_own_format_and_predict_the_same(tmp_path, library, api):
    from sklearn.datasets import load_iris

    lib = pytest.importorskip(library)
    X, y = load_iris(return_X_y=True)
    if api == "sklearn":
        estimator = lib.XGBClassifier if library == "xgboost" else lib.LGBMClassifier
        model = estimator(n_estimators=5, **({"verbose": -1} if library == "lightgbm" else {})).fit(X, y)
        booster = model.get_booster() if library == "xgboost" else model.booster_
    elif library == "xgboost":
        model = booster = lib.train({"objective": "multi:softprob", "num_class": 3}, lib.DMatrix(X, label=y), 5)
    else:
        model = booster = lib.train({"objective": "multiclass", "num_class": 3, "verbose": -1}, lib.Dataset(X, y), 5)
    assert model_kind(model) == library
    meta = export_model(model, str(tmp_path / "m"), kind=library)
    assert meta["file"] == {"xgboost": "model.bst", "lightgbm": "model.txt"}[library]
    assert meta["inputs"][0]["shape"] == [-1, 4] and meta["outputs"][0]["shape"] == [-1, 3]
    assert meta["explainer"]["kind"] == "tree" and meta["format"]["version"]
    loaded = load_exported(str(tmp_path / "m"))
    rows = X[:5]
    if library == "xgboost":
        assert np.allclose(loaded.predict(lib.DMatrix(rows)), booster.predict(lib.DMatrix(rows)))
    else:
        assert np.allclose(loaded.predict(rows), booster.predict(rows))
