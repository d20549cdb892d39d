"""Executes one step inside its own process: namespace, parameters, prelude, imports, inputs, cells, outputs, metrics.

Cells keep their IPython syntax: each is transformed by kale_ext/notebook/ipython.py (shared with the analysis) and
compiled with the filename ``<cell N>`` (N = the notebook cell index, 0-based as in the pipeline model), so a traceback
names the notebook cell and line. ``get_ipython()`` returns a minimal InteractiveShell over the step's namespace,
created on first use (shell.py), so that %time, %%capture and !cmd work. The namespace is a real ``__main__`` module, as
in a kernel, so that functions and classes defined in cells pickle by value. Loaded inputs are rebound to it
(rebinder.py), outputs saved by outputs.py, the models the cells bound kept by models.py, and any failure described
once, as a StepFailure (failure.py).

Entry points: ``main(spec, argv)`` for the standalone program (a fresh interpreter); ``prepare_namespace`` +
``execute_step`` for the warm launcher, which prepares once and forks. Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import linecache
import os
import sys
import time
import types
from typing import Any

from ..notebook.ipython import transform
from .failure import StepFailure, cell_filename, imports_filename
from .models import bound_names, find_models, save_models, snapshot
from .outputs import save_outputs, to_json_value
from .rebinder import Rebinder
from .shell import install_shell_factory, make_shell, uses_shell
from .spec import StepSpec

# The warm launcher and the run driver use these through this module.
__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "describe_error",
    "execute_step",
    "line_buffered_stdio",
    "main",
    "make_shell",
    "new_main_module",
    "prepare_namespace",
    "run_source",
    "to_json_value",
    "uses_shell",
    "write_json_atomic",
]

EXIT_OK = 0
EXIT_FAILED = 1


# ------------------------------------------------------------------------------------------------------- execution
def new_main_module() -> types.ModuleType:
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = module
    install_shell_factory(module)
    return module


def run_source(source: str, filename: str, namespace: dict[str, Any]) -> None:
    """Transform, register with linecache (tracebacks show the original lines), compile and run one cell."""
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    code = compile(transform(source), filename, "exec")
    exec(code, namespace)


def inject_parameters(module: types.ModuleType, parameters: dict[str, str]) -> None:
    """Parameters arrive as Python literal source (exact types: tuples stay tuples); they replace the parameters cell."""
    for name, literal in parameters.items():
        module.__dict__[name] = ast.literal_eval(literal)


def run_prelude(spec: StepSpec, module: types.ModuleType) -> None:
    for cell in spec.prelude:
        run_source(cell["source"], cell_filename(cell["index"]), module.__dict__)


def prepare_namespace(spec: StepSpec, parameters: dict[str, str]) -> types.ModuleType:
    """A fresh ``__main__`` with the parameters injected and the prelude (imports + functions cells) run."""
    module = new_main_module()
    inject_parameters(module, parameters)
    run_prelude(spec, module)
    if spec.prelude:
        from ..marshal.builtins import register_main_references

        register_main_references(module.__dict__)
    return module


def execute_step(
    spec: StepSpec,
    job: dict[str, Any],
    module: types.ModuleType | None = None,
    prelude_error: dict[str, Any] | None = None,
) -> int:
    """Run the step and write its result JSON; returns the process exit code. ``module`` is a prepared namespace
    (the zygote's, already holding parameters and prelude); without it the namespace is prepared here."""
    t0 = time.time()
    result: dict[str, Any] = {
        "step": spec.name,
        "status": "failed",
        "outputs": {},
        "models": {},
        "metrics": {},
        "error": None,
    }
    timings: dict[str, float] = {}
    try:
        if prelude_error is not None:
            sys.stderr.write(prelude_error.get("traceback", "") + "\n")
            result["error"] = prelude_error
            return EXIT_FAILED
        if module is None:
            module = prepare_namespace(spec, job.get("parameters", {}))
            timings["prelude_s"] = time.time() - t0
        else:
            inject_parameters(module, {k: v for k, v in job.get("parameters", {}).items() if k in spec.parameters})
        ns = module.__dict__
        if spec.imports:
            run_source("\n".join(spec.imports) + "\n", imports_filename(spec.name), ns)
        t = time.time()
        _load_inputs(job.get("inputs", {}), ns)
        timings["load_s"] = time.time() - t
        t = time.time()
        before = snapshot(ns)
        for cell in spec.cells:
            run_source(cell["source"], cell_filename(cell["index"]), ns)
        timings["cells_s"] = time.time() - t
        t = time.time()
        result["outputs"] = save_outputs(spec, ns, job["output_dir"])
        # The models the step binds are kept for serving, also those no later step reads (leaf training steps).
        models = find_models(ns, bound_names(ns, before))
        result["models"] = save_models(models, ns, result["outputs"], job["output_dir"])
        timings["save_s"] = time.time() - t
        result["metrics"] = {m: to_json_value(ns[m]) for m in spec.metrics if m in ns}
        result["status"] = "succeeded"
        return EXIT_OK
    except BaseException as exc:  # the user's code may raise anything, SystemExit and KeyboardInterrupt included
        failure = StepFailure.from_exception(exc)
        result["error"] = failure.to_json()
        sys.stderr.write(failure.traceback)
        return EXIT_FAILED
    finally:
        timings["total_s"] = time.time() - t0
        result["timings"] = timings
        _flush()
        write_json_atomic(job["result"], result)


def _load_inputs(inputs: dict[str, Any], ns: dict[str, Any]) -> None:
    """Load the inputs (the names of a shared-output group from one load, so shared objects stay shared) and rebind
    the notebook's functions among them to the step's namespace, as they would run in one kernel."""
    if not inputs:
        return
    from ..marshal import ArtifactEntry, load_values

    values = load_values({name: ArtifactEntry.from_json(entry) for name, entry in inputs.items()})
    rebinder = Rebinder(ns)
    for name, value in values.items():
        ns[name] = rebinder.value(value)
    rebinder.fill_missing()


def describe_error(exc: BaseException) -> dict[str, Any]:
    """The JSON of ``StepFailure.from_exception(exc)``: the form a step result carries, and the form in which the warm
    launcher hands a prelude's failure to ``execute_step``."""
    return StepFailure.from_exception(exc).to_json()


def write_json_atomic(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def line_buffered_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        if not isinstance(stream, io.TextIOWrapper):  # a replaced stream (a test's capture) is left as it is
            continue
        try:
            stream.reconfigure(line_buffering=True, write_through=True)
        except ValueError:
            pass


def main(spec_data: dict[str, Any], argv: list[str] | None = None) -> int:
    """The standalone step program: ``python step.py --job JOB.json`` in a fresh interpreter."""
    parser = argparse.ArgumentParser(description=f"Run pipeline step {spec_data.get('name')!r}.")
    parser.add_argument("--job", required=True, help="JSON file: parameters, input manifest, output dir, result path")
    args = parser.parse_args(argv)
    with open(args.job) as f:
        job = json.load(f)
    line_buffered_stdio()
    # As in a kernel started in the notebook's folder: modules beside the notebook are importable.
    sys.path.insert(0, os.getcwd())
    return execute_step(StepSpec.from_json(spec_data), job)
