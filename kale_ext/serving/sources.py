"""Models from runs: which models a run kept, and the export of one of them into its content-addressed model directory.

A run keeps the model-typed values its steps bound (artifacts with a ``kind``, recorded by the local driver from the
step's result.json). ``servable`` lists them; ``export_from_run`` loads one through the serializers and exports it
(export.py) into ``<store>/models/<hash>/``, once per content hash, with its lineage (run, step, variable, hash) and,
when the notebook defines them, its transformer functions (the run's prelude: imports and functions cells, after the
run's parameter values), and a background sample of the training matrix for the explainer (up to 100 rows of the
first input of the model's step that is a numeric matrix as wide as the model). The function names come from the notebook's ``kale_ext`` settings ``"serving":
{"preprocess", "postprocess"}`` (default: ``preprocess`` and ``postprocess``). Must not import tornado or
jupyter_server.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

from ..errors import KaleError, NotFoundError
from .export import export_model, load_exported, read_model_json

SERVABLE = (
    "scikit-learn estimators and pipelines, XGBoost and LightGBM models, torch modules, and any object with a "
    "callable predict method"
)
_LOCK = threading.Lock()  # prelude_main swaps the process's __main__: one export at a time
BACKGROUND_ROWS = 100
BACKGROUND_MAX_BYTES = 256 << 20
MATRIX_TYPES = ("numpy.ndarray", "pandas.core.frame.DataFrame")
DEFAULT_FUNCTIONS = {"preprocess": "preprocess", "postprocess": "postprocess"}


class NotServableError(KaleError):
    status = 400
    code = "model.not_servable"


class ModelLoadError(KaleError):
    status = 400
    code = "model.load"


def servable(store: Any, run_id: str) -> list[dict[str, Any]]:
    """[{"step", "variable", "kind", "type", "hash"}] of the run's models (NotFoundError for an unknown run)."""
    store.run_row(run_id)
    return [
        {"step": a["step"], "variable": a["name"], "kind": a["kind"], "type": a["type"], "hash": a["hash"]}
        for a in store.model_artifacts(run_id)
    ]


def find_model(store: Any, run_id: str, variable: str, step: str | None = None) -> dict[str, Any]:
    """The model artifact ``variable`` of the run (the last step binding it, or ``step``'s); clear errors otherwise."""
    run = store.get_run(run_id)
    if step is not None and step not in {s["name"] for s in run["steps"]}:
        raise NotFoundError(f"Run {run_id} has no step {step!r}.", code="step.not_found")
    models = [a for a in store.model_artifacts(run_id) if a["name"] == variable and step in (None, a["step"])]
    if models:
        return models[-1]
    outputs = [o for s in run["steps"] for o in s["outputs"] if o["name"] == variable and step in (None, s["name"])]
    if outputs:
        raise NotServableError(
            f"Variable {variable!r} of run {run_id} is a {outputs[-1]['type']}, not a model. Servable: {SERVABLE}.",
            details={"variable": variable, "type": outputs[-1]["type"]},
        )
    kept = store.model_artifacts(run_id)
    elsewhere = sorted({a["step"] for a in kept if a["name"] == variable})
    if step is not None and elsewhere:
        raise NotFoundError(
            f"Step {step!r} of run {run_id} binds no model {variable!r}; {', '.join(elsewhere)} does. Fix: --step "
            f"{elsewhere[-1]}, or leave --step out.",
            code="model.not_found",
        )
    known = sorted({a["name"] for a in kept})
    raise NotFoundError(
        f"Run {run_id} kept no model named {variable!r} (its status: {run['status']}; the models it kept: "
        f"{', '.join(known) or 'none'}). A model is kept when a succeeded step binds it.",
        code="model.not_found",
        details={"variable": variable, "models": known},
    )


def export_from_run(store: Any, run_id: str, variable: str, step: str | None = None) -> tuple[str, dict[str, Any]]:
    """(model_dir, kale-model.json) of the run's model ``variable``, exported once per content hash."""
    artifact = find_model(store, run_id, variable, step)
    directory = os.path.join(store.folder, "models", artifact["hash"].partition(":")[2] or artifact["hash"])
    if os.path.exists(os.path.join(directory, "kale-model.json")):
        return directory, read_model_json(directory)
    from ..marshal import ArtifactEntry, load_value

    source = {"run_id": run_id, "step": artifact["step"], "variable": variable, "hash": artifact["hash"]}
    transformer = transformer_for(store, run_id)
    entry = ArtifactEntry.from_json(artifact)
    try:
        model = load_value(entry)
        context: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    except Exception:
        # A model of a class the notebook defines refers to that class in the step's __main__: it loads where the
        # run's prelude ran, and is exported from there, by value (cloudpickle pickles __main__'s classes by value).
        context = _prelude_context(store.run_row(run_id))
        model = None
    with context:
        if model is None:
            try:
                model = load_value(entry)
            except Exception as exc:
                raise ModelLoadError(
                    f"Cannot load model {variable!r} of run {run_id} from {artifact['path']} "
                    f"({type(exc).__name__}: {exc}).",
                    details={"path": artifact["path"]},
                ) from None
        background = background_sample(store, run_id, artifact["step"], model, artifact["kind"])
        meta = export_model(
            model, directory, kind=artifact["kind"], source=source, transformer=transformer, background=background
        )
    check_loads(directory)
    return directory, meta


@contextlib.contextmanager
def _prelude_context(row: dict[str, Any]) -> Iterator[None]:
    with _LOCK, prelude_main(row):
        yield


@contextlib.contextmanager
def prelude_main(row: dict[str, Any]) -> Iterator[None]:
    """``__main__`` is, inside, a fresh module in which the run's parameters are set and its prelude (imports and
    functions cells) ran, as in the step that bound the model; the real ``__main__`` is put back afterwards."""
    from ..marshal.builtins import MAIN_REFERENCES
    from ..steps.failure import cell_filename
    from ..steps.runtime import run_source

    plan = json.loads(row["plan"])
    prelude = plan[0].get("prelude", []) if plan else []
    saved = sys.modules.get("__main__")
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = __builtins__
    for name, literal in json.loads(row["parameters"]).items():
        module.__dict__[name] = ast.literal_eval(literal)
    sys.modules["__main__"] = module
    references = dict(MAIN_REFERENCES)
    MAIN_REFERENCES.clear()  # the notebook's classes are exported by value, not as references to a step's __main__
    try:
        for cell in prelude:
            try:
                run_source(cell["source"], cell_filename(cell["index"]), module.__dict__)
            except Exception as exc:
                raise ModelLoadError(
                    f"The notebook's imports and functions cells, which the model needs, fail here "
                    f"({type(exc).__name__}: {exc}). Fix: install what they import in this environment."
                ) from None
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved
        MAIN_REFERENCES.clear()
        MAIN_REFERENCES.update(references)


def background_sample(store: Any, run_id: str, step: str, model: Any, kind: str, rows: int = BACKGROUND_ROWS) -> Any:
    """Up to ``rows`` rows (a fixed random choice) of the training matrix the model's step read: its first input that
    is a numeric 2-D array or DataFrame as wide as the model's input; None when it read none."""
    from ..marshal import ArtifactEntry, load_value
    from .metadata import n_features

    width = n_features(model, kind)
    if width <= 0:
        return None
    [record] = [s for s in store.get_run(run_id)["steps"] if s["name"] == step]
    for consumed in record["inputs"]:
        for candidate in store.step_artifacts(consumed["producer_run"], consumed["producer"]):
            if candidate["name"] != consumed["name"] or candidate["type"] not in MATRIX_TYPES:
                continue
            if candidate["size"] > BACKGROUND_MAX_BYTES:  # a sample is not worth loading a huge matrix
                continue
            import numpy as np

            try:
                matrix = np.asarray(load_value(ArtifactEntry.from_json(candidate)), dtype=np.float64)
            except (ValueError, TypeError):  # not numeric
                continue
            if matrix.ndim == 2 and matrix.shape[1] == width and len(matrix):
                chosen = np.random.default_rng(0).choice(len(matrix), size=min(rows, len(matrix)), replace=False)
                return matrix[np.sort(chosen)]
    return None


def check_loads(directory: str) -> None:
    try:
        load_exported(directory)
    except KaleError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"The model in {directory} does not load ({type(exc).__name__}: {exc}).") from None


def transformer_for(store: Any, run_id: str) -> dict[str, Any] | None:
    """The run's prelude as transformer source, when it defines the pre/postprocess functions; else None."""
    row = store.run_row(run_id)
    names = serving_functions(row["notebook"])
    plan = json.loads(row["plan"])
    prelude = plan[0].get("prelude", []) if plan else []
    sources = [c["source"] for c in prelude]
    defined = set()
    for src in sources:
        defined |= _top_level_functions(src)
    found = {role: (name if name in defined else None) for role, name in names.items()}
    if not any(found.values()):
        return None
    from ..notebook.ipython import transform

    parameters = json.loads(row["parameters"])
    header = [f'"""The transformer of run {run_id}: its parameter values, imports and functions cells."""']
    header += [f"{name} = {literal}" for name, literal in parameters.items()]
    return {"source": "\n".join(header) + "\n\n" + "\n\n".join(transform(s) for s in sources) + "\n", **found}


def serving_functions(notebook: str) -> dict[str, str]:
    """The names of the transformer functions from the notebook's settings (defaults if it is gone or says none)."""
    names = dict(DEFAULT_FUNCTIONS)
    try:
        from ..notebook.metadata import read_settings
        from ..notebook.reader import load_notebook

        settings = read_settings(load_notebook(notebook)).get("serving")
    except (KaleError, OSError):
        return names
    if isinstance(settings, dict):
        for role in names:
            if isinstance(settings.get(role), str) and settings[role].isidentifier():
                names[role] = settings[role]
    return names


def _top_level_functions(source: str) -> set[str]:
    from ..notebook.ipython import transform

    try:
        tree = ast.parse(transform(source))
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
