"""The variable flow of a whole notebook in one pass over its cells, in notebook order.

For every global name the pass keeps its *latest producer* (a step, the prelude, or the pipeline parameters), its alias
group and, for functions and classes, a summary of what using them reads and writes. A read of a name last produced by
an earlier step is an input of the reading step and an output of the producer; mutation and aliasing make the mutating
step the producer of the whole alias group. Cost is linear in the size of the notebook: no step ever rescans its
ancestors. Uses only the stdlib (and IPython's transformer, lazily, through kale_ext.notebook.cells).
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from ..notebook.cells import parse_cell
from ..pipeline.model import Diagnostic
from .cellscan import (
    BIND,
    CALL,
    CARRY,
    DELETE,
    DYNAMIC,
    LREAD,
    MUTATE,
    NO_CARRY,
    READ,
    SOFT,
    STAR,
    UNBIND,
    Bind,
    scan_cell,
)
from .diagnostics import make
from .layout import Layout
from .starimports import star_exports

PRELUDE, PARAM, METRICS = -1, -2, -3
BUILTINS = frozenset(dir(builtins)) | {
    "get_ipython",
    "display",
    "In",
    "Out",
    "exit",
    "quit",
    "_",
    "__",
    "___",
    "_i",
    "_ii",
    "_iii",
    "_oh",
    "_dh",
    "_ih",
    "__name__",
    "__doc__",
    "__builtins__",
}
_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), tuple, frozenset)


class Binding:
    __slots__ = ("producer", "imp", "func", "unpicklable", "cell", "line", "param_immutable", "fallback", "carries")

    def __init__(self, producer: int, cell: int, line: int, bind: Bind):
        self.producer = producer
        self.imp = bind.imp
        self.func = bind.func
        self.unpicklable = bind.unpicklable
        self.cell = cell
        self.line = line
        self.param_immutable = False
        # A conditional binding (in an if/for/while/try) may not happen: the previous binding then still holds.
        self.fallback: Binding | None = None
        # Notebook functions and classes the value may hold (an alias, a container, an instance, a bound method, a
        # closure returned by a function): using the value may call them, so reading it reads their free globals.
        self.carries: frozenset = frozenset()


@dataclass
class StepFlow:
    inputs: dict[str, int] = field(default_factory=dict)  # name -> producing step index
    outputs: set[str] = field(default_factory=set)
    params: set[str] = field(default_factory=set)
    imports: dict[str, None] = field(default_factory=dict)  # ordered set of import statements
    shared: list[frozenset[str]] = field(default_factory=list)  # names modified together (may share objects)


@dataclass
class FlowResult:
    steps: list[StepFlow]
    parameters: dict[str, object]
    metrics: list[str]
    metric_sources: dict[str, int]  # metric -> step index (PARAM / PRELUDE when not produced by a step)
    final_sources: dict[str, int]  # every name bound at the end -> producer (PRELUDE for imports: re-imported)
    diagnostics: list[Diagnostic]


class Flow:
    def __init__(self, lay: Layout):
        self.lay = lay
        self.steps = [StepFlow() for _ in lay.steps]
        self.state: dict[str, Binding] = {}
        self.groups: dict[str, set[str]] = {}
        self.closures: dict[int, tuple] = {}
        self.closure_names: set[str] = set()  # names the cached closures depend on
        self.local: set[str] = set()
        self.ctx = PRELUDE
        self.cell = -1
        self.diags: list[Diagnostic] = []
        self.first_bound: dict[str, tuple[int, int]] = {}
        self.skip_bound: dict[str, int] = {}
        self.deleted: dict[str, tuple[int, int]] = {}
        self.unresolved: dict[tuple[str, int, int], str | None] = {}
        self.warned: set[tuple[str, str]] = set()
        self.star_unknown: list[tuple[str, int, str]] = []
        self.last_dynamic: tuple[int, int, int] | None = None
        self.parameters: dict[str, object] = {}
        self.metrics: list[str] = []
        self.metric_sources: dict[str, int] = {}
        self.unpicklable_seen: set[tuple[str, int]] = set()

    # -- driving ------------------------------------------------------------------------------------------------
    def run(self) -> FlowResult:
        roles = {"prelude": PRELUDE, "parameters": PARAM, "metrics": METRICS}
        for c in self.lay.cells:
            if not c.source.strip():
                continue
            parsed = parse_cell(c.source)
            if parsed.tree is None:
                if c.role != "skip":
                    self.diags.append(
                        make(
                            "syntax.error",
                            c.index,
                            parsed.error_line,
                            f"syntax error: {parsed.error}; "
                            "fix the code (names bound in this cell are unknown to the analysis)",
                        )
                    )
                continue
            if c.role == "skip":
                for ev in scan_cell(parsed.tree, c.index):
                    if ev[0] == BIND:
                        self.skip_bound.setdefault(ev[1], c.index)
                continue
            ctx = c.step if c.role == "step" else roles[c.role]
            if ctx != self.ctx:
                self.local = set()
                self.ctx = ctx
            self.cell = c.index
            if c.role == "metrics":
                self.metrics_cell(parsed.tree)
                continue
            try:
                self.process(scan_cell(parsed.tree, c.index))
            except RecursionError:
                self.diags.append(
                    make(
                        "syntax.error",
                        c.index,
                        None,
                        "this cell is nested too deeply to analyze; split its long expressions into several statements",
                    )
                )
                continue
            if c.role == "parameters":
                self.parameters_cell(parsed.tree)
        self.classify_unresolved()
        final = {n: PRELUDE if b.imp is not None else b.producer for n, b in self.state.items()}
        return FlowResult(self.steps, self.parameters, self.metrics, self.metric_sources, final, self.diags)

    def process(self, events: list[tuple]) -> None:
        for ev in events:
            kind, name, line = ev[0], ev[1], ev[2]
            if kind == READ:
                self.read(name, line)
            elif kind == LREAD:
                b = self.state.get(name)
                if b is not None and (b.func is not None or b.carries):
                    self.apply_function(name, b, line)
            elif kind == BIND:
                self.bind(name, line, ev[3])
            elif kind == MUTATE:
                self.mutate(name, line, ev[3])
            elif kind == SOFT:
                self.read(name, line, soft=True)
            elif kind == CALL:
                self.call(name, line, ev[3])
            elif kind == DELETE:  # `del x` needs x: it is read, then unbound
                self.read(name, line, closure=False)
                self.unbind(name)
                self.deleted[name] = (self.cell, line)
            elif kind == UNBIND:
                self.unbind(name)
            elif kind == DYNAMIC:
                self.dynamic(name, line)
            elif kind == STAR:
                self.star(name, line, ev[3])
            elif kind == CARRY:
                self.carry(name, ev[3])

    # -- events -------------------------------------------------------------------------------------------------
    def read(self, name: str, line: int, soft: bool = False, via: str | None = None, closure: bool = True) -> None:
        b = self.state.get(name)
        if b is None:
            if not soft and name not in BUILTINS and name not in self.local:
                self.missing(name, line, via)
            return
        if name not in self.local:
            self.use(name, b, line)
        if closure and (b.func is not None or b.carries):
            self.apply_function(name, b, line)

    def use(self, name: str, b: Binding, line: int) -> None:
        ctx, producer = self.ctx, b.producer
        if ctx == METRICS and producer < 0:
            self.metric_sources[name] = producer
            return
        if producer == ctx:
            self.pass_through(name, b)
            return
        if producer == PRELUDE:
            return
        if b.imp is not None:
            if ctx >= 0:
                self.steps[ctx].imports[b.imp] = None
            elif ctx == PRELUDE:
                self.prelude_reads_step(name, producer, line)
            return
        if producer == PARAM:
            if ctx >= 0:
                self.steps[ctx].params.add(name)
            return
        if ctx >= 0:
            self.steps[ctx].inputs[name] = producer
            self.output(name, b, producer)
            self.pass_through(name, b)
        elif ctx == METRICS:
            self.metric_sources[name] = producer
            self.output(name, b, producer)
            self.pass_through(name, b)
        elif ctx == PRELUDE:
            self.prelude_reads_step(name, producer, line)

    def pass_through(self, name: str, b: Binding) -> None:
        """The value of a conditional binding is needed: its step must also receive the value it may keep."""
        while b.fallback is not None:
            old, b.fallback = b.fallback, None
            step = b.producer
            if step < 0 or old.producer == step:
                return
            if old.producer == PARAM:
                self.steps[step].params.add(name)
                return
            if old.producer < 0:
                return
            self.steps[step].inputs[name] = old.producer
            self.output(name, old, old.producer)
            b = old

    def output(self, name: str, b: Binding, producer: int) -> None:
        self.steps[producer].outputs.add(name)
        kind = b.unpicklable
        if kind is None and b.func is None and b.imp is None:
            return
        if kind and (name, producer) not in self.unpicklable_seen:
            self.unpicklable_seen.add((name, producer))
            step = self.lay.steps[producer].name
            self.diags.append(
                make(
                    "value.unpicklable",
                    b.cell,
                    b.line,
                    f"{name!r} holds {kind}, which cannot be "
                    f"passed from step {step!r} to a later step; recreate it in the step that uses it "
                    "(or pass the data it reads instead)",
                )
            )

    def prelude_reads_step(self, name: str, producer: int, line: int) -> None:
        step = self.lay.steps[producer].name
        self.diags.append(
            make(
                "prelude.step_data",
                self.cell,
                line,
                f"this imports/functions cell reads {name!r}, "
                f"produced by step {step!r}; these cells run at the start of every step, before its "
                "inputs are loaded. Move this code into a step",
            )
        )

    def bind(self, name: str, line: int, bind: Bind, producer: int | None = None) -> None:
        ctx = self.ctx if producer is None else producer
        old = self.state.get(name)
        fallback = None
        if bind.cond and ctx >= 0 and name not in self.local and old is not None and old.imp is None:
            fallback = old if old.producer != ctx else old.fallback
        carries = self.carried(bind.carry) if bind.carry is not NO_CARRY else frozenset()
        if (old is not None and (old.func is not None or old.carries)) or bind.func is not None or carries:
            self.closures.clear()
        sources = self.alias_sources(name, bind.sources)
        self.leave_group(name)
        if bind.unpicklable is None and bind.callee is not None:
            callee = self.state.get(bind.callee)
            if callee is not None and callee.func is not None and callee.func.generator:
                bind.unpicklable = "a generator"
        b = Binding(ctx, self.cell, line, bind)
        b.fallback = fallback
        b.carries = carries
        self.state[name] = b
        self.deleted.pop(name, None)
        self.first_bound.setdefault(name, (self.cell, line))
        if not bind.cond:
            self.local.add(name)
        if sources and ctx >= 0:
            group = self.join(name, sources)
            self.touch(name, group, line)

    def alias_sources(self, name: str, sources: tuple[str, ...]) -> set[str]:
        out = set()
        for s in sources:
            if s == name:
                out.update(self.groups.get(name, ()))
                continue
            b = self.state.get(s)
            if b is not None and b.imp is None and b.func is None and not b.param_immutable:
                out.add(s)
        out.discard(name)
        return out

    def join(self, name: str, sources: set[str]) -> set[str]:
        groups = [self.groups.get(s) or {s} for s in sources]
        big = max(groups, key=len)
        for g in groups:
            if g is not big:
                big.update(g)
        big.add(name)
        for m in big:
            self.groups[m] = big
        return big

    def leave_group(self, name: str) -> None:
        g = self.groups.pop(name, None)
        if g is not None:
            g.discard(name)

    def touch(self, name: str, group: set[str], line: int) -> None:
        """The step modifies (or aliases) one member of a group: it becomes the producer of every member."""
        ctx = self.ctx
        for m in group:
            b = self.state.get(m)
            if b is None or b.producer == ctx:
                continue
            if m != name and m not in self.local:
                self.read(m, line, soft=True, closure=False)
            b.producer = ctx
        if len(group) > 1:
            self.steps[ctx].shared.append(frozenset(group))

    def mutate(self, name: str, line: int, local: bool = False) -> None:
        if not local:  # the READ event of the expression already applied a function's closure
            self.read(name, line, closure=False)
        b = self.state.get(name)
        if b is None or b.imp is not None or self.ctx < 0:
            return
        group = self.groups.get(name)
        if group is None:
            b.producer = self.ctx
        else:
            self.touch(name, group, line)

    def unbind(self, name: str) -> None:
        self.state.pop(name, None)
        if name in self.closure_names:
            self.invalidate()
        self.leave_group(name)
        self.local.discard(name)

    def call(self, name: str, line: int, args: list[tuple]) -> None:
        b = self.state.get(name)
        if b is None or b.func is None:
            return
        f = b.func
        # Code passed in may be stored in what the function mutates: register(f) doing REGISTRY.append(fn).
        carry = (tuple(arg for _, arg in args), (), ())
        held = self.carried(carry)
        for key, arg in args:
            param = f.params[key] if isinstance(key, int) and key < len(f.params) else key
            if param in f.mutated_params:
                self.mutate(arg, line)
                if held:
                    self.carry(arg, carry)
        if held:
            for n in self.closure(f)[2]:
                self.carry(n, carry)

    def carried(self, carry: tuple) -> frozenset:
        """The notebook functions and classes a value built as ``carry`` (Bind.carry) may hold, with today's bindings."""
        names, calls, lambdas = carry
        out = set(lambdas)
        state = self.state
        for n in names:
            b = state.get(n)
            if b is not None:
                if b.func is not None:
                    out.add(b.func)
                out |= b.carries
        for n in calls:
            b = state.get(n)
            if b is None:
                continue
            if b.func is not None and b.func.is_class:  # an instance: its methods (and its bases') come with it
                out.add(b.func)
                out |= b.carries
                continue
            for f in (b.func, *b.carries) if b.func is not None else b.carries:
                if f.is_class or self.returns_code(f):
                    out.add(f)
        return frozenset(out)

    def returns_code(self, f) -> bool:
        """Whether calling notebook function ``f`` may return notebook code (a closure, a function, an instance)."""
        if f.nested:
            return True
        for n in f.free:
            b = self.state.get(n)
            if b is None:
                continue
            if b.carries or (b.func is not None and (b.func.is_class or n in f.refs)):
                return True
        return False

    def carry(self, name: str, carry: tuple) -> None:
        """``name``'s object now also holds ``carry``; so do the objects it may share (its alias group)."""
        new = self.carried(carry)
        if not new:
            return
        for m in self.groups.get(name) or (name,):
            b = self.state.get(m)
            if b is not None and b.imp is None and not new <= b.carries:
                b.carries = b.carries | new
                self.closures.clear()

    def apply_function(self, name: str, b: Binding, line: int) -> None:
        """Using a notebook function or class, or a value that may hold some (Binding.carries), reads their free
        globals, transitively, with the values current here."""
        funcs = (b.func, *b.carries) if b.func is not None else tuple(b.carries)
        for f in funcs:
            reads, writes, mutates = self.closure(f)
            via = f"{name} (defined in cell {f.cell})" if f is b.func else f"{f.name} (held by {name}, cell {f.cell})"
            for n in reads:
                if n != name:
                    self.read(n, line, via=via, closure=False)
            for n in mutates:
                self.mutate(n, line)
            for n in writes:  # a name bound through `global` may be bound to any code the function sees
                if self.ctx >= 0:
                    self.bind(n, line, Bind(cond=True, carry=(tuple(reads), (), ())))

    def invalidate(self) -> None:
        self.closures.clear()
        self.closure_names.clear()

    def closure(self, f) -> tuple:
        hit = self.closures.get(id(f))
        if hit is not None:
            return hit
        reads: dict[str, None] = {}
        writes: set[str] = set()
        mutates: set[str] = set()
        seen = {id(f)}
        stack = [f]
        while stack:
            g = stack.pop()
            writes |= g.gwrites
            mutates |= g.gmutates
            for n in g.free:
                reads[n] = None
                b = self.state.get(n)
                if b is None:
                    continue
                if b.func is not None and id(b.func) not in seen:
                    seen.add(id(b.func))
                    stack.append(b.func)
                for h in b.carries:
                    if id(h) not in seen:
                        seen.add(id(h))
                        stack.append(h)
        hit = self.closures[id(f)] = (list(reads), writes, mutates)
        self.closure_names.update(reads)
        return hit

    def dynamic(self, what: str, line: int) -> None:
        code = (
            "dynamic.exec"
            if what in ("exec", "eval", "execfile")
            else "dynamic.run"
            if what[0] == "%"
            else "dynamic.globals"
        )
        self.diags.append(
            make(
                code,
                self.cell,
                line,
                f"{what} defines or reads names the analysis cannot see; names "
                "that come only from it are not checked and may not reach later steps. Prefer plain "
                "assignments",
            )
        )
        self.last_dynamic = (self.ctx, self.cell, line)

    def star(self, module: str, line: int, stmt: str) -> None:
        names = star_exports(module)
        if names is None:
            self.star_unknown.append((module, self.ctx, stmt))
            return
        for n in sorted(names):
            self.bind(n, line, Bind(imp=f"from {module} import {n}"))

    def missing(self, name: str, line: int, via: str | None) -> None:
        if self.star_unknown:
            module, producer, stmt = self.star_unknown[-1]
            if producer >= 0 and self.ctx >= 0 and producer != self.ctx:
                self.steps[self.ctx].imports[stmt] = None
            if (name, "star") not in self.warned:
                self.warned.add((name, "star"))
                self.diags.append(
                    make(
                        "name.star_import",
                        self.cell,
                        line,
                        f"{name!r} is not bound in the notebook; "
                        f"it may come from `{stmt}`, but {module!r} cannot be inspected here. Import "
                        f"it by name (from {module} import {name}) to make it checkable",
                    )
                )
            return
        if self.last_dynamic is not None:
            producer, cell, dline = self.last_dynamic
            if producer >= 0 and self.ctx >= 0 and producer != self.ctx:
                self.steps[self.ctx].inputs[name] = producer
                self.steps[producer].outputs.add(name)
            elif producer >= 0 and self.ctx == METRICS:
                self.metric_sources[name] = producer
                self.steps[producer].outputs.add(name)
            if (name, "dynamic") not in self.warned:
                self.warned.add((name, "dynamic"))
                self.diags.append(
                    make(
                        "name.maybe_dynamic",
                        self.cell,
                        line,
                        f"{name!r} is never assigned; it may "
                        f"come only from the dynamic definition in cell {cell}, line {dline}. Assign it "
                        "explicitly so that it can be tracked",
                    )
                )
            return
        self.unresolved.setdefault((name, self.cell, line), via)

    # -- special cells ------------------------------------------------------------------------------------------
    def parameters_cell(self, tree: ast.Module) -> None:
        for s in tree.body:
            value = _literal(s.value) if isinstance(s, ast.Assign) else _MISSING
            if (
                isinstance(s, ast.Assign)
                and len(s.targets) == 1
                and isinstance(s.targets[0], ast.Name)
                and value is not _MISSING
            ):
                name = s.targets[0].id
                self.parameters[name] = value
                b = self.state.get(name)
                if b is not None:  # an immutable parameter cannot be changed through an alias
                    b.param_immutable = isinstance(value, _IMMUTABLE)
                continue
            self.diags.append(
                make(
                    "parameter.invalid",
                    self.cell,
                    s.lineno,
                    "a pipeline-parameters cell may contain "
                    "only NAME = literal assignments (numbers, strings, booleans, None, lists/dicts of "
                    "them); move other code to a step",
                )
            )

    def metrics_cell(self, tree: ast.Module) -> None:
        for s in tree.body:
            names = _printed_names(s)
            if names is None:
                self.diags.append(
                    make(
                        "metric.invalid",
                        self.cell,
                        s.lineno,
                        "a pipeline-metrics cell should contain "
                        "only print(name) lines, one per metric; this statement is ignored",
                    )
                )
                continue
            for name in names:
                if name not in self.metrics:
                    self.metrics.append(name)
                self.read(name, s.lineno, closure=False)

    # -- diagnostics --------------------------------------------------------------------------------------------
    def classify_unresolved(self) -> None:
        for (name, cell, line), via in self.unresolved.items():
            who = f"function {via} reads the global {name!r} when it is used here" if via else f"{name!r} is read here"
            where = self.first_bound.get(name)
            deleted = self.deleted.get(name)
            if deleted is not None and deleted <= (cell, line):
                code, msg = (
                    "name.undefined",
                    f"{who}, but it was deleted in cell {deleted[0]}, line {deleted[1]}; "
                    "remove the del or bind it again before this point",
                )
            elif where is not None and where > (cell, line):
                code, msg = (
                    "name.defined_later",
                    f"{who}, but it is first bound later, in cell {where[0]}, line "
                    f"{where[1]}; move that code before this cell",
                )
            elif name in self.skip_bound:
                code, msg = (
                    "name.undefined_skip",
                    f"{who}, but it is bound only in cell {self.skip_bound[name]}, "
                    "which is tagged skip (or belongs to no step); remove the skip "
                    "tag or bind it in a step",
                )
            else:
                code, msg = (
                    "name.undefined",
                    f"{who}, but it is never bound before this point; define it in an "
                    "earlier step, the imports/functions cells or the pipeline parameters",
                )
            self.diags.append(make(code, cell, line, msg))


_MISSING = object()


def _literal(node: ast.AST):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _MISSING


def _printed_names(s: ast.stmt) -> list[str] | None:
    if isinstance(s, ast.Expr) and isinstance(s.value, ast.Name):
        return [s.value.id]
    if not (
        isinstance(s, ast.Expr)
        and isinstance(s.value, ast.Call)
        and isinstance(s.value.func, ast.Name)
        and s.value.func.id == "print"
        and s.value.args
        and not s.value.keywords
    ):
        return None
    if not all(isinstance(a, ast.Name) for a in s.value.args):
        return None
    return [a.id for a in s.value.args]


def run_flow(lay: Layout) -> FlowResult:
    return Flow(lay).run()
