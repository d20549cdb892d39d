"""A simple in-process executor for the equivalence tests (not product code; the local runner lives in kale_ext.runners).

``run_notebook`` executes the non-skip code cells top to bottom in one namespace, like a kernel. ``run_pipeline``
executes each step in a fresh namespace: parameters injected, prelude, the step's re-imports, then its inputs loaded
from the producing steps' serialized outputs (cloudpickle, one blob per shared-output group, to simulate a process
boundary), then the step's cells. Values travel only through the analyzed inputs and outputs.
"""

from __future__ import annotations

import contextlib
import copy
import io
import types
from typing import Any

import cloudpickle

from kale_ext.analysis.layout import layout
from kale_ext.pipeline.model import Pipeline

_tm = None


def to_python(source: str) -> str:
    global _tm
    if _tm is None:
        from IPython.core.inputtransformer2 import TransformerManager

        _tm = TransformerManager()
    return _tm.transform_cell(source)


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


def _rebind(value: Any, ns: dict[str, Any]) -> Any:
    """A function defined in the notebook reads its globals from the namespace it runs in, as in one kernel."""
    if isinstance(value, types.FunctionType) and value.__module__ == "__main__":
        f = types.FunctionType(value.__code__, ns, value.__name__, value.__defaults__, value.__closure__)
        f.__kwdefaults__ = value.__kwdefaults__
        f.__dict__.update(value.__dict__)
        return f
    return value


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
        for name in step.inputs:
            blob = blobs[step.input_sources[name]][name]
            if id(blob) not in loaded:
                loaded[id(blob)] = cloudpickle.loads(blob)
            ns[name] = _rebind(loaded[id(blob)][name], ns)
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
    ignore = {"__name__", "__builtins__", "get_ipython"}
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
