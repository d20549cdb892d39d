"""A simple in-process executor for the equivalence tests (not product code; the local runner lives in kale_ext.runners).

``run_notebook`` executes the non-skip code cells top to bottom in one namespace, like a kernel. ``run_pipeline``
executes each step in a fresh namespace: parameters injected, prelude, the step's re-imports, then its inputs loaded
from the producing steps' serialized outputs (cloudpickle, one blob per shared-output group, to simulate a process
boundary), then the step's cells. Values travel only through the analyzed inputs and outputs.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import types
from typing import Any

import cloudpickle

from kale_ext.analysis.layout import layout
from kale_ext.notebook.ipython import to_python
from kale_ext.pipeline.model import Pipeline


class Captured:
    """What %%capture binds, reduced to its stdout."""

    def __init__(self, stdout: str):
        self.stdout = stdout

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Captured) and other.stdout == self.stdout


class FakeShell:
    """The part of get_ipython() that IPython's transformer calls, deterministic and without a shell."""

    def __init__(self, ns: dict[str, Any]):
        self.ns = ns

    def _expand(self, text: str) -> str:
        try:
            return text.format(**{k: v for k, v in self.ns.items() if not k.startswith("__")})
        except Exception:
            return text

    def system(self, cmd: str) -> None:
        print(f"$ {self._expand(cmd)}")

    def getoutput(self, cmd: str) -> list[str]:
        return [f"output of {self._expand(cmd)}"]

    def run_line_magic(self, name: str, line: str) -> None:
        if name in ("time", "capture", "prun"):
            exec(to_python(line), self.ns)

    def run_cell_magic(self, name: str, line: str, body: str) -> None:
        if name == "capture":
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(to_python(body), self.ns)
            words = [w for w in line.split() if not w.startswith("-")]
            if words:
                self.ns[words[0]] = Captured(buf.getvalue())
        elif name in ("time", "prun"):
            exec(to_python(body), self.ns)


def new_namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "__main__"}
    shell = FakeShell(ns)
    ns["get_ipython"] = lambda: shell
    return ns


def run_cell(source: str, ns: dict[str, Any]) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(to_python(source), "<cell>", "exec"), ns)


def run_notebook(nb: dict[str, Any]) -> dict[str, Any]:
    ns = new_namespace()
    for c in layout(nb).cells:
        if c.role != "skip":
            run_cell(c.source, ns)
    return ns


class _Rebinder:
    """A function defined in the notebook reads its globals from the namespace it runs in, as in one kernel.

    cloudpickle gives a loaded notebook function a private copy of the globals it read where it was saved; this
    rebuilds every such function reachable from a loaded value (inside lists, dicts, tuples, sets, instances, bound
    methods, partials, closures and the methods of notebook classes, nested classes included) with the step's
    namespace as its globals. It never fills in a global the analysis did not pass: a missing input fails the run
    (NameError) as it should."""

    def __init__(self, ns: dict[str, Any]) -> None:
        self.ns = ns
        self.memo: dict[int, Any] = {}
        self.keep: list[Any] = []  # keep visited objects alive so that their ids stay unique

    def value(self, v: Any) -> Any:
        key = id(v)
        if key in self.memo:
            return self.memo[key]
        self.keep.append(v)
        self.memo[key] = v
        if isinstance(v, types.FunctionType):
            if v.__module__ != "__main__" or v.__globals__ is self.ns:
                return v
            f = types.FunctionType(v.__code__, self.ns, v.__name__, v.__defaults__, v.__closure__)
            self.memo[key] = f
            f.__kwdefaults__ = v.__kwdefaults__
            f.__qualname__ = v.__qualname__
            f.__dict__.update({k: self.value(x) for k, x in v.__dict__.items()})
            for cell in v.__closure__ or ():
                try:
                    inner = cell.cell_contents
                except ValueError:
                    continue
                cell.cell_contents = self.value(inner)
            return f
        if isinstance(v, types.MethodType):
            m = types.MethodType(self.value(v.__func__), self.value(v.__self__))
            self.memo[key] = m
            return m
        if isinstance(v, functools.partial):
            p = functools.partial(
                self.value(v.func), *map(self.value, v.args), **{k: self.value(x) for k, x in v.keywords.items()}
            )
            self.memo[key] = p
            return p
        if isinstance(v, list):
            v[:] = [self.value(x) for x in v]
        elif isinstance(v, dict):
            for k in list(v):
                v[k] = self.value(v[k])
        elif isinstance(v, tuple) and type(v) is tuple:
            t = tuple(self.value(x) for x in v)
            self.memo[key] = t
            return t
        elif isinstance(v, type):
            if v.__module__ == "__main__":
                for name, attr in list(vars(v).items()):
                    if isinstance(attr, (types.FunctionType, staticmethod, classmethod, property)):
                        new = self.member(attr)
                        if new is not attr:
                            setattr(v, name, new)
                    elif isinstance(attr, type):  # a nested class: its methods read the step's globals too
                        self.value(attr)
                for base in v.__mro__[1:]:
                    self.value(base)
        elif type(v).__module__ == "__main__":
            self.value(type(v))
            d = getattr(v, "__dict__", None)
            if isinstance(d, dict):
                self.value(d)
        return v

    def member(self, attr: Any) -> Any:
        if isinstance(attr, (staticmethod, classmethod)):
            return type(attr)(self.value(attr.__func__))
        if isinstance(attr, property):
            return property(*(self.value(p) if p is not None else None for p in (attr.fget, attr.fset, attr.fdel)))
        return self.value(attr)


def run_pipeline(nb: dict[str, Any], pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    blobs: dict[str, dict[str, bytes]] = {}  # step -> {output name -> blob holding it}
    spaces: dict[str, dict[str, Any]] = {}
    for step in pipeline.steps:
        ns = new_namespace()
        for name, value in pipeline.parameters.items():
            ns[name] = copy.deepcopy(value)
        for cell in pipeline.prelude:
            run_cell(cell.source, ns)
        if step.imports:
            run_cell("\n".join(step.imports), ns)
        loaded: dict[int, dict[str, Any]] = {}
        rebinder = _Rebinder(ns)
        for name in step.inputs:  # load everything first: loading a class again resets its methods
            blob = blobs[step.input_sources[name]][name]
            if id(blob) not in loaded:
                loaded[id(blob)] = cloudpickle.loads(blob)
        for name in step.inputs:
            ns[name] = rebinder.value(loaded[id(blobs[step.input_sources[name]][name])][name])
        for cell in step.cells:
            run_cell(cell.source, ns)
        out: dict[str, bytes] = {}
        grouped = {n for g in step.shared_outputs for n in g}
        for group in step.shared_outputs:
            blob = cloudpickle.dumps({n: ns[n] for n in group})
            out.update(dict.fromkeys(group, blob))
        for name in step.outputs:
            if name not in grouped:
                out[name] = cloudpickle.dumps({name: ns[name]})
        blobs[step.name] = out
        spaces[step.name] = ns
    return spaces


def normalize(v: Any, depth: int = 0) -> Any:
    """A comparable form of a value: notebook-defined objects by class name and attributes."""
    if depth > 20:
        return "..."
    if isinstance(v, types.ModuleType):
        return ("module", v.__name__)
    if isinstance(v, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return ("function", getattr(v, "__qualname__", repr(v)))
    if isinstance(v, type):
        return ("class", v.__qualname__)
    if isinstance(v, functools.partial):
        return ("partial", normalize(v.func, depth + 1), normalize(v.args, depth + 1), normalize(v.keywords, depth + 1))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, [normalize(x, depth + 1) for x in v])
    if isinstance(v, dict):
        return ("dict", sorted(((repr(k), normalize(x, depth + 1)) for k, x in v.items()), key=lambda kv: kv[0]))
    if isinstance(v, (set, frozenset)):
        return ("set", sorted(repr(x) for x in v))
    if isinstance(v, (int, float, str, bytes, bool, type(None), complex, Captured)):
        return v
    if hasattr(v, "__dict__") and type(v).__module__ in ("__main__", "builtins", None):
        return ("obj", type(v).__qualname__, normalize(vars(v), depth + 1))
    return ("other", type(v).__qualname__, repr(v))


def check_equivalence(nb: dict[str, Any], pipeline: Pipeline) -> None:
    """Every name's final value in the pipeline (held by the step final_sources names) equals the kernel's."""
    top = run_notebook(nb)
    spaces = run_pipeline(nb, pipeline)
    ignore = {"__name__", "__builtins__", "get_ipython", "__annotations__"}
    dynamic = any(d.code.startswith("dynamic.") for d in pipeline.diagnostics)
    for name, value in top.items():
        if name in ignore or isinstance(value, types.ModuleType):
            continue
        if dynamic and name not in pipeline.final_sources:
            continue  # bound by exec/globals(): the analysis says it cannot see those
        assert name in pipeline.final_sources, f"{name!r} is bound by the notebook but missing from final_sources"
        src = pipeline.final_sources[name]
        if not src:
            continue
        assert name in spaces[src], f"step {src!r} should hold the final value of {name!r}"
        got = normalize(spaces[src][name])
        want = normalize(value)
        assert got == want, f"{name!r}: pipeline gives {got!r} (step {src!r}), notebook gives {want!r}"
    for metric, src in pipeline.metric_sources.items():
        if src:
            assert metric in spaces[src] and normalize(spaces[src][metric]) == normalize(top[metric])
