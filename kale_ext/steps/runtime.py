"""Executes one step inside its own process: namespace, parameters, prelude, imports, inputs, cells, outputs, metrics.

Cells keep their IPython syntax: each is transformed with IPython's TransformerManager and compiled with the filename
``<cell N>`` (N = the notebook cell index, 0-based as in the pipeline model), so a traceback names the notebook cell and
line. ``get_ipython()`` returns a minimal InteractiveShell over the step's namespace, created on first use, so that
%time, %%capture and !cmd work. The namespace is a real ``__main__`` module, as in a kernel, so that functions and
classes defined in cells pickle by value.

Entry points: ``main(spec, argv)`` for the standalone program (a fresh interpreter); ``prepare_namespace`` +
``execute_step`` for the zygote, which prepares once and forks. Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import argparse
import ast
import collections
import functools
import json
import linecache
import os
import sys
import time
import traceback
import types
from typing import Any

from .spec import StepSpec

CELL_PREFIX = "<cell "
EXIT_OK = 0
EXIT_FAILED = 1


class StepError(Exception):
    """A failure of the step that is not an exception of the user's code (missing output, unserializable value)."""


# --------------------------------------------------------------------------------------------------- IPython support
_transformer = None


def transform(source: str) -> str:
    """IPython syntax (magics, !cmd, ?help) to plain Python; plain Python skips the import of IPython entirely."""
    global _transformer
    if not _needs_ipython(source):
        return source
    if _transformer is None:
        from IPython.core.inputtransformer2 import TransformerManager

        _transformer = TransformerManager()
    return _transformer.transform_cell(source)


def _needs_ipython(source: str) -> bool:
    # compile() to bytecode, not ast.parse: the runner calls this from its driver threads, and CPython (3.11, 3.12)
    # keeps the recursion depth of its C-AST -> Python-AST conversion in one per-interpreter counter, so ast.parse in two
    # threads at once can fail with "SystemError: AST constructor recursion depth mismatch" when the GIL changes hands
    # mid-conversion (a garbage collection running a finalizer is enough). Bytecode compilation builds no Python AST.
    try:
        compile(source, "<cell>", "exec", dont_inherit=True)
    except SyntaxError:
        return True
    return False


def uses_shell(sources: list[str]) -> bool:
    return any("get_ipython" in transform(s) for s in sources)


def _install_shell_factory(module: types.ModuleType) -> None:
    """Bind ``get_ipython`` in the namespace to a function creating the InteractiveShell on first call."""

    def get_ipython():  # noqa: ANN202 - mirrors IPython's builtin
        return make_shell(module)

    module.__dict__.setdefault("get_ipython", get_ipython)


def make_shell(module: types.ModuleType):
    """A non-interactive InteractiveShell whose user namespace is the step's namespace (no history file)."""
    from IPython.core.interactiveshell import InteractiveShell

    if InteractiveShell.initialized():
        return InteractiveShell.instance()
    from traitlets.config import Config

    class StepShell(InteractiveShell):
        def enable_gui(
            self, gui=None
        ):  # a step has no GUI event loop: `%matplotlib inline/agg` just selects the backend
            return None

    config = Config()
    config.HistoryManager.enabled = False
    shell = StepShell.instance(config=config, user_module=module)
    module.__dict__["get_ipython"] = shell.get_ipython
    return shell


# ------------------------------------------------------------------------------------------------------- execution
def new_main_module() -> types.ModuleType:
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = module
    _install_shell_factory(module)
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
        run_source(cell["source"], f"{CELL_PREFIX}{cell['index']}>", module.__dict__)


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
    result: dict[str, Any] = {"step": spec.name, "status": "failed", "outputs": {}, "metrics": {}, "error": None}
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
            run_source("\n".join(spec.imports) + "\n", f"<imports of step {spec.name}>", ns)
        t = time.time()
        _load_inputs(job.get("inputs", {}), ns)
        timings["load_s"] = time.time() - t
        t = time.time()
        for cell in spec.cells:
            run_source(cell["source"], f"{CELL_PREFIX}{cell['index']}>", ns)
        timings["cells_s"] = time.time() - t
        t = time.time()
        result["outputs"] = _save_outputs(spec, ns, job["output_dir"])
        timings["save_s"] = time.time() - t
        result["metrics"] = {m: to_json_value(ns[m]) for m in spec.metrics if m in ns}
        result["status"] = "succeeded"
        return EXIT_OK
    except BaseException as exc:  # the user's code may raise anything, SystemExit and KeyboardInterrupt included
        result["error"] = describe_error(exc)
        sys.stderr.write(result["error"]["traceback"])
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


class Rebinder:
    """Functions defined in the notebook read their globals where they are called: in one kernel, from ``__main__``.
    cloudpickle gives a loaded function a private copy of the globals it read in the producing step; this rebinds every
    such function reachable from the step's loaded inputs to the step's namespace: inputs that are functions, and those
    held inside values (lists, dicts, tuples, sets, deques, instances' attributes, class attributes and methods, bound
    methods, functools.partial, lru_cache wrappers, closure cells, default arguments, ``__wrapped__``).

    One Rebinder serves all the inputs of a step, with an id memo: the same loaded function becomes the same rebound
    function wherever it is held (``fs[0] is f`` stays true), and cycles end. Mutable containers are updated in place
    (only where something changed), so that aliasing between names is kept; tuples and frozensets are rebuilt. The walk
    never descends into other types (numpy arrays, pandas objects, bytes, str, library objects) and is bounded in depth
    and in the number of visited items.

    A global the step's namespace lacks (one the analysis did not pass because the step does not call the function
    directly) is filled in from the producer's copy, as the kernel would still hold it. Functions of other modules
    (library decorators' wrappers included) keep their own globals."""

    MAX_DEPTH = 150
    MAX_VISITS = 2_000_000

    def __init__(self, ns: dict[str, Any]) -> None:
        self.ns = ns
        self.module_name = ns.get("__name__", "__main__")
        self.memo: dict[int, Any] = {}  # id(loaded object) -> its rebound replacement (itself when unchanged)
        self.keep: list[Any] = []  # the memo's keys stay alive, so that their ids stay unique
        self.classes: set[int] = set()
        self.fallback: dict[str, Any] = {}
        self.visits = 0

    def is_foreign_notebook_function(self, f: Any) -> bool:
        return (
            isinstance(f, types.FunctionType)
            and f.__globals__ is not self.ns
            and f.__globals__.get("__name__") == self.module_name
        )

    def is_notebook_type(self, t: type) -> bool:
        return getattr(t, "__module__", None) == self.module_name

    def value(self, v: Any, depth: int = 0) -> Any:
        t = type(v)
        if t in _ATOMIC:
            return v
        self.visits += 1
        key = id(v)
        if key in self.memo:
            return self.memo[key]
        if depth > self.MAX_DEPTH or self.visits > self.MAX_VISITS:
            return v
        self.memo[key] = v
        self.keep.append(v)
        new = self._rebind(v, t, depth + 1)
        self.memo[key] = new
        return new

    def _rebind(self, v: Any, t: type, depth: int) -> Any:
        if t is types.FunctionType:
            return self.function(v, depth)
        size = len(v) if t in _SIZED else 0
        self.visits += size
        if self.visits > self.MAX_VISITS:  # a huge container: not walked (its items are almost surely plain data)
            return v
        if t in _LISTS:
            self._sequence_in_place(v, depth)
            return v
        if t in _DICTS:
            self._dict_in_place(v, depth)
            if t is collections.defaultdict and v.default_factory is not None:
                v.default_factory = self.value(v.default_factory, depth)
            return v
        if t is tuple or (isinstance(v, tuple) and hasattr(t, "_make") and t.__module__ in _CONTAINER_MODULES):
            items = [self.value(x, depth) for x in v]
            if all(a is b for a, b in zip(items, v, strict=True)):
                return v
            return tuple(items) if t is tuple else t._make(items)
        if t is set:
            items = [self.value(x, depth) for x in v]
            if any(a is not b for a, b in zip(items, v, strict=True)):
                v.clear()
                v.update(items)
            return v
        if t is frozenset:
            items = [self.value(x, depth) for x in v]
            return v if all(a is b for a, b in zip(items, v, strict=True)) else frozenset(items)
        if t is types.MethodType:
            func, obj = self.value(v.__func__, depth), self.value(v.__self__, depth)
            return v if func is v.__func__ and obj is v.__self__ else types.MethodType(func, obj)
        if t is functools.partial:
            state = v.__reduce__()[2]  # (func, args, keywords, __dict__)
            func = self.value(v.func, depth)
            args = self.value(v.args, depth)
            keywords = dict(v.keywords)
            self._dict_in_place(keywords, depth)
            if func is not v.func or args is not v.args or any(keywords[k] is not v.keywords[k] for k in keywords):
                v.__setstate__((func, args, keywords, state[3]))  # in place: every holder of the partial sees it
            return v
        if t is functools._lru_cache_wrapper:
            wrapped = getattr(v, "__wrapped__", None)
            if self.is_foreign_notebook_function(wrapped):
                return functools.lru_cache(**v.cache_parameters())(self.value(wrapped, depth))
            return v
        if isinstance(v, type):
            self.cls(v, depth)
            return v
        if self.is_notebook_type(t) or t is types.SimpleNamespace:
            self.cls(t, depth)
            d = getattr(v, "__dict__", None)
            if type(d) is dict:
                self._dict_in_place(d, depth)
            for slot in _slots(t):
                try:
                    old = getattr(v, slot)
                except AttributeError:
                    continue
                new = self.value(old, depth)
                if new is not old:
                    setattr(v, slot, new)
        return v

    def _sequence_in_place(self, v: Any, depth: int) -> None:
        for i, x in enumerate(list(v)):
            new = self.value(x, depth)
            if new is not x:
                v[i] = new

    def _dict_in_place(self, d: dict[Any, Any], depth: int) -> None:
        items = list(d.items())
        new_items = [(self.value(k, depth), self.value(x, depth)) for k, x in items]
        if any(k2 is not k for (k, _), (k2, _) in zip(items, new_items, strict=True)):
            d.clear()  # a rebound key: rebuild in order (dict keys hash by identity for functions)
            d.update(new_items)
            return
        for (k, x), (_, x2) in zip(items, new_items, strict=True):
            if x2 is not x:
                d[k] = x2

    def function(self, f: Any, depth: int = 0) -> Any:
        if not self.is_foreign_notebook_function(f):
            # A library function (or one of this step): its globals stay, but what it holds may be a notebook function.
            self._function_contents(f, f, depth)
            return f
        g = types.FunctionType(f.__code__, self.ns, f.__name__, f.__defaults__, f.__closure__)
        self.memo[id(f)] = g  # before descending: a recursive reference finds the rebound function
        g.__kwdefaults__ = f.__kwdefaults__
        g.__dict__.update(f.__dict__)
        for attr in ("__qualname__", "__doc__", "__module__", "__annotations__"):
            try:
                setattr(g, attr, getattr(f, attr))
            except (AttributeError, TypeError):
                pass
        for k, v in f.__globals__.items():
            if not k.startswith("__"):
                self.fallback.setdefault(k, v)
        self._function_contents(f, g, depth)
        return g

    def _function_contents(self, f: Any, g: Any, depth: int) -> None:
        """Closure cells (in place: a cell may be shared), default arguments and ``__dict__`` (``__wrapped__``)."""
        for cell in f.__closure__ or ():
            try:
                inner = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            new = self.value(inner, depth)
            if new is not inner:
                cell.cell_contents = new
        if f.__defaults__:
            defaults = self.value(f.__defaults__, depth)
            if defaults is not f.__defaults__:
                g.__defaults__ = defaults
        if f.__kwdefaults__:
            kwdefaults = dict(f.__kwdefaults__)
            self._dict_in_place(kwdefaults, depth)
            if any(kwdefaults[k] is not f.__kwdefaults__[k] for k in kwdefaults):
                g.__kwdefaults__ = kwdefaults
        if f.__dict__:
            self._dict_in_place(g.__dict__, depth)

    def cls(self, c: type, depth: int = 0) -> None:
        if not self.is_notebook_type(c) or id(c) in self.classes:
            return
        self.classes.add(id(c))
        self.keep.append(c)
        for name, attr in list(vars(c).items()):
            if name in ("__dict__", "__weakref__") or type(attr) in _ATOMIC:
                continue
            new = self.member(attr, depth)
            if new is not attr:
                try:
                    setattr(c, name, new)
                except (AttributeError, TypeError):
                    pass
        for base in c.__mro__[1:]:
            self.cls(base, depth)

    def member(self, attr: Any, depth: int) -> Any:
        if isinstance(attr, staticmethod | classmethod):
            func = self.value(attr.__func__, depth)
            return attr if func is attr.__func__ else type(attr)(func)
        if isinstance(attr, property):
            old = (attr.fget, attr.fset, attr.fdel)
            parts = [self.value(p, depth) if p is not None else None for p in old]
            if all(p is q for p, q in zip(parts, old, strict=True)):
                return attr
            return property(*parts, attr.__doc__)
        return self.value(attr, depth)

    def fill_missing(self) -> None:
        pending = {k: v for k, v in self.fallback.items() if k not in self.ns}
        while pending:
            for k, v in pending.items():
                self.ns[k] = self.value(v)  # may add further fallbacks (a helper's own globals)
            pending = {k: v for k, v in self.fallback.items() if k not in self.ns}


# Types the rebinder never descends into (no function can be inside them).
_ATOMIC = frozenset(
    {int, float, complex, str, bytes, bytearray, bool, type(None), range, memoryview, type(Ellipsis), slice}
)
_LISTS = frozenset({list, collections.deque})
_DICTS = frozenset({dict, collections.OrderedDict, collections.defaultdict, collections.Counter})
_CONTAINER_MODULES = ("__main__", "collections")
_SIZED = _LISTS | _DICTS | {tuple, set, frozenset}


def _slots(t: type) -> list[str]:
    out = []
    for c in t.__mro__:
        slots = c.__dict__.get("__slots__", ())
        out.extend([slots] if isinstance(slots, str) else slots)
    return [s for s in out if s not in ("__dict__", "__weakref__")]


def _save_outputs(spec: StepSpec, ns: dict[str, Any], output_dir: str) -> dict[str, Any]:
    if not spec.outputs:
        return {}
    from ..marshal import save_group, save_value

    missing = [name for name in spec.outputs if name not in ns]
    if missing:
        raise StepError(
            f"Step {spec.name!r} ended without defining {', '.join(map(repr, missing))}, which later steps read. "
            f"Fix: make sure every path through the step's cells assigns it."
        )
    os.makedirs(output_dir, exist_ok=True)
    saved: dict[str, Any] = {}
    for group in spec.shared_outputs:  # names that may share objects: one object graph each
        for entry in save_group(group, ns, output_dir):
            saved[entry.name] = entry.to_json()
    for name in spec.outputs:
        if name not in saved:
            saved[name] = save_value(name, ns[name], output_dir).to_json()
    return {name: saved[name] for name in spec.outputs}


def to_json_value(value: Any) -> Any:
    """Metric values as JSON: numpy scalars become Python numbers; anything else that JSON refuses becomes its repr."""
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    try:
        json.dumps(value, allow_nan=True)
        return value
    except (TypeError, ValueError):
        return repr(value)


def describe_error(exc: BaseException) -> dict[str, Any]:
    """The error with the notebook cell and line of the innermost notebook frame, and a traceback without the runtime."""
    tb = exc.__traceback__
    first_cell_tb = None
    cell = line = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(CELL_PREFIX) or filename.startswith("<imports of step "):
            if first_cell_tb is None:
                first_cell_tb = tb
            if filename.startswith(CELL_PREFIX):
                cell, line = int(filename[len(CELL_PREFIX) : -1]), tb.tb_lineno
        tb = tb.tb_next
    if isinstance(exc, SyntaxError) and (exc.filename or "").startswith(CELL_PREFIX):
        cell, line = int(exc.filename[len(CELL_PREFIX) : -1]), exc.lineno
    if isinstance(exc, StepError) or type(exc).__name__ == "SerializationError":
        text = f"{type(exc).__name__}: {exc}\n"
    else:
        text = "".join(traceback.format_exception(type(exc), exc, first_cell_tb or exc.__traceback__))
    # The location is structured (cell: 0-based notebook index, line: 1-based); each surface words it for its readers.
    return {
        "type": type(exc).__name__,
        "message": f"{type(exc).__name__}: {exc}",
        "cell": cell,
        "line": line,
        "traceback": text,
    }


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
        try:
            stream.reconfigure(line_buffering=True, write_through=True)
        except (AttributeError, ValueError):
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
