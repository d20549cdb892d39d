"""Turn one cell's module-level code into an ordered list of typed name events (kale_ext.analysis.events: read,
bind, mutate, delete, call, dynamic, star import ...) following Python's execution order and scoping; IPython magics
that run Python (%time, %%capture, %%time) are scanned too, and the names they bind are tracked.

Uses only the stdlib ast (and, through kale_ext.notebook.cells, IPython's transformer for magic bodies).
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Sequence

from ..notebook.cells import parse_snippet
from .events import (
    NO_CARRY,
    Bind,
    Call,
    Carry,
    CarryInfo,
    Delete,
    Dynamic,
    Event,
    LocalRead,
    Mutate,
    Read,
    SoftRead,
    StarImport,
    Unbind,
)
from .scope import (
    Comprehension,
    FuncSummary,
    alias_sources,
    def_time_expressions,
    root_name,
    summarize,
    target_names,
)

_OPENERS = {
    "open": "an open file",
    "fdopen": "an open file",
    "TemporaryFile": "an open file",
    "NamedTemporaryFile": "an open file",
    "SpooledTemporaryFile": "an open file",
    "Lock": "a lock",
    "RLock": "a lock",
    "Condition": "a lock",
    "Semaphore": "a lock",
    "BoundedSemaphore": "a lock",
    "Thread": "a thread",
    "Pool": "a process pool",
    "ThreadPoolExecutor": "an executor",
    "ProcessPoolExecutor": "an executor",
    "socket": "a socket",
    "connect": "a connection",
    "create_connection": "a socket",
    "Popen": "a subprocess",
}
_VAR = re.compile(r"(?<!\$)\$([A-Za-z_]\w*)|\{([^{}]+)\}")


def value_carry(node: ast.AST | None, cell: int, more: Sequence[ast.AST] = ()) -> CarryInfo:
    """What of the notebook's functions and classes a value may hold (see Bind.carry): the names an expression reads
    other than as a callee (their functions, classes and carried code may be stored in the value), the names it calls
    (a class call makes an instance; a function may return code) and the summaries of the lambdas it creates."""
    if node is None and not more:
        return NO_CARRY
    names: list[str] = []
    calls: list[str] = []
    lambdas: list[FuncSummary] = []
    stack = [node, *more] if node is not None else list(more)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Load):
                names.append(n.id)
        elif isinstance(n, ast.Lambda):
            lambdas.append(summarize(n, cell))
            stack.extend(def_time_expressions(n))
        elif isinstance(n, ast.Call):
            if isinstance(n.func, ast.Name):
                calls.append(n.func.id)
            else:
                stack.append(n.func)
            stack.extend(n.args)
            stack.extend(k.value for k in n.keywords)
        elif isinstance(n, ast.Constant):
            continue
        else:
            stack.extend(ast.iter_child_nodes(n))
    if not (names or calls or lambdas):
        return NO_CARRY
    return tuple(names), tuple(calls), tuple(lambdas)


def unpicklable_kind(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.GeneratorExp):
        return "a generator"
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        return _OPENERS.get(name) if name else None
    return None


def scan_cell(tree: ast.Module, cell: int) -> list[Event]:
    scan = _CellScan(cell)
    scan.block(tree.body)
    return scan.events


class _CellScan:
    def __init__(self, cell: int) -> None:
        self.cell = cell
        self.events: list[Event] = []
        self.cond = 0  # > 0 inside if/for/while/try: a binding there may not happen
        self.offset = 0  # line offset for code found inside a cell magic
        # Names bound inside the conditional blocks we are in: a read there follows the binding (LREAD), even though
        # after the block the binding is only a maybe.
        self.bound_here: list[set[str]] = []

    # -- statements -------------------------------------------------------------------------------------------
    def block(self, stmts: list[ast.stmt], cond: bool = False) -> None:
        if cond:
            self.push()
        for s in stmts:
            self.stmt(s)
        if cond:
            self.pop()

    def push(self) -> None:
        self.cond += 1
        self.bound_here.append(set())

    def pop(self) -> None:
        self.cond -= 1
        self.bound_here.pop()

    def bind(self, name: str, line: int, **kw) -> None:
        self.events.append(Bind(name, line + self.offset, cond=self.cond > 0, **kw))
        if self.bound_here:
            self.bound_here[-1].add(name)

    def mutated(self, name: str, line: int) -> None:
        """A mutation of ``name`` (line is absolute); local when it follows a binding in the same conditional block."""
        self.events.append(Mutate(name, line, any(name in b for b in self.bound_here)))

    def read(self, name: str, line: int) -> None:
        local = any(name in b for b in self.bound_here)
        self.events.append(LocalRead(name, line + self.offset) if local else Read(name, line + self.offset))

    def stmt(self, s: ast.stmt) -> None:
        ln = s.lineno
        ev = self.events
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.Lambda) and len(s.targets) == 1:
            for e in def_time_expressions(s.value):  # f = lambda: ...: like a def, the body reads when called
                self.expr(e)
            self.target(s.targets[0], None, (), ln, None, None, value_carry(s.value, self.cell))
            last = self.events[-1]
            if isinstance(s.targets[0], ast.Name) and isinstance(last, Bind):
                last.func = summarize(s.value, self.cell)
        elif isinstance(s, ast.Assign):
            self.expr(s.value)
            srcs = alias_sources(s.value)
            kind = unpicklable_kind(s.value)
            callee = s.value.func.id if isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Name) else None
            first = None
            carry = value_carry(s.value, self.cell)
            for t in s.targets:
                self.target(t, s.value, srcs + ((first,) if first else ()), ln, kind, callee, carry)
                first = first or (t.id if isinstance(t, ast.Name) else None)
        elif isinstance(s, ast.AugAssign):
            self.expr(s.value)
            if isinstance(s.target, ast.Name):
                self.mutated(s.target.id, ln + self.offset)
                self.carried(s.target.id, ln + self.offset, value_carry(s.value, self.cell))
            else:
                self.mutation_target(s.target, ln, value_carry(s.value, self.cell))
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                self.expr(s.value)
                self.target(
                    s.target,
                    s.value,
                    alias_sources(s.value),
                    ln,
                    unpicklable_kind(s.value),
                    None,
                    value_carry(s.value, self.cell),
                )
        elif isinstance(s, ast.Delete):
            for t in s.targets:
                for n in target_names(t) if isinstance(t, (ast.Tuple, ast.List, ast.Name)) else []:
                    ev.append(Delete(n, ln + self.offset))
                if isinstance(t, (ast.Attribute, ast.Subscript)):
                    self.mutation_target(t, ln)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for e in def_time_expressions(s):
                self.expr(e)
            held: list[ast.AST] = list(s.decorator_list)
            if isinstance(s, ast.ClassDef):
                self.class_body(s)
                held += class_held(s)
            # A notebook decorator's wrapper, a notebook base class's methods and what the class body stored (a
            # function as a class attribute, a default) come with the name.
            self.bind(s.name, ln, func=summarize(s, self.cell), carry=value_carry(None, self.cell, held))
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            self.import_(s)
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            self.expr(s.iter)
            self.push()
            self.target(s.target, None, alias_sources(s.iter), ln, None, None, value_carry(s.iter, self.cell))
            self.block(s.body)
            self.pop()
            self.block(s.orelse, True)
        elif isinstance(s, ast.While):
            self.expr(s.test)
            self.block(s.body, True)
            self.block(s.orelse, True)
        elif isinstance(s, ast.If):
            self.expr(s.test)
            self.block(s.body, True)
            self.block(s.orelse, True)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.target(
                        item.optional_vars,
                        None,
                        alias_sources(item.context_expr),
                        ln,
                        unpicklable_kind(item.context_expr),
                        None,
                        value_carry(item.context_expr, self.cell),
                    )
            self.block(s.body)
        elif isinstance(s, _TRY):
            self.block(s.body, True)
            for h in s.handlers:
                if h.type is not None:
                    self.expr(h.type)
                self.push()
                if h.name:
                    self.bind(h.name, h.lineno)
                self.block(h.body)
                if h.name:  # Python deletes the name at the end of the handler
                    ev.append(Unbind(h.name, (h.end_lineno or h.lineno) + self.offset))
                self.pop()
            self.block(s.orelse, True)
            self.block(s.finalbody)
        elif isinstance(s, ast.Match):
            self.expr(s.subject)
            for case in s.cases:
                self.push()
                self.pattern(case.pattern, ln)
                if case.guard is not None:
                    self.expr(case.guard)
                self.block(case.body)
                self.pop()
        elif isinstance(s, (ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)):
            pass
        else:  # Expr, Return, Raise, Assert ...
            for child in ast.iter_child_nodes(s):
                self.expr(child)

    def carried(self, name: str, line: int, carry: CarryInfo) -> None:
        """``name``'s object now (also) holds what ``carry`` describes: x.append(f), d[k] = f, o.cb = f, xs += [f]."""
        if carry is not NO_CARRY:
            self.events.append(Carry(name, line, carry))

    def target(
        self, t: ast.AST, value: ast.AST | None, srcs, ln: int, kind, callee, carry: CarryInfo = NO_CARRY
    ) -> None:
        if isinstance(t, ast.Name):
            self.bind(t.id, ln, sources=tuple(srcs), unpicklable=kind, callee=callee, carry=carry)
        elif isinstance(t, (ast.Tuple, ast.List)):
            pairs = None
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(t.elts):
                if not any(isinstance(e, ast.Starred) for e in value.elts + t.elts):
                    pairs = zip(t.elts, value.elts, strict=True)
            if pairs is not None:  # a, b = b, a: pair the elements up
                for te, ve in pairs:
                    self.target(te, ve, alias_sources(ve), ln, unpicklable_kind(ve), None, value_carry(ve, self.cell))
            else:
                for te in t.elts:
                    self.target(te, None, srcs, ln, None, None, carry)
        elif isinstance(t, ast.Starred):
            self.target(t.value, None, srcs, ln, None, None, carry)
        elif isinstance(t, (ast.Attribute, ast.Subscript)):
            self.mutation_target(t, ln, carry)

    def mutation_target(self, t: ast.Attribute | ast.Subscript, ln: int, carry: CarryInfo = NO_CARRY) -> None:
        """obj.a = ..., d[k] = ..., del d[k], x[0] += ...: reads the pieces, then mutates the root object."""
        v = t.value
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id in ("globals", "locals", "vars"):
            self.events.append(Dynamic(f"{v.func.id}()[...] =", t.lineno + self.offset))
        self.expr(t.value)
        if isinstance(t, ast.Subscript):
            self.expr(t.slice)
        name = root_name(t)
        if name is not None:
            self.mutated(name, ln + self.offset)
            self.carried(name, ln + self.offset, carry)

    def pattern(self, p: ast.AST, ln: int) -> None:
        for node in ast.walk(p):
            if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                self.bind(node.name, ln)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                self.bind(node.rest, ln)
            elif isinstance(node, ast.MatchValue):
                self.expr(node.value)
            elif isinstance(node, ast.MatchClass):
                self.expr(node.cls)
            elif isinstance(node, ast.MatchMapping):
                for k in node.keys:
                    self.expr(k)

    def class_body(self, s: ast.ClassDef) -> None:
        """A class body runs when the class statement runs: the globals it reads and modifies are read and modified
        here, once (a nested class's body too). Names it binds belong to the class; its methods run later, when the
        class is used (scope.summarize), and its statements' values that may hold code come with the class
        (class_held)."""
        local: set[str] = set()  # the class namespace so far
        for node in s.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for e in def_time_expressions(node):
                    self.free_reads(e, local)
                if isinstance(node, ast.ClassDef):  # its own namespace: the outer class's names are not visible
                    self.class_body(node)
                local.add(node.name)
            else:
                self.free_reads(node, local, mutations=True)
                for n in ast.walk(node):
                    if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                        local.add(n.id)

    def free_reads(self, node: ast.AST, local: set[str], mutations: bool = False) -> None:
        """Read the free names of ``node`` run in a scope of its own whose names so far are ``local``; with
        ``mutations``, the globals it modifies (x.append(...), x[k] = ...) are modified here too."""
        if isinstance(node, ast.expr):
            summary = summarize(ast.Lambda(args=_NO_ARGS, body=node, lineno=getattr(node, "lineno", 1)), self.cell)
        else:
            summary = _stmt_summary(node)
        for name, line in summary.free.items():
            if name not in local:
                self.read(name, line)
        if mutations:
            line = getattr(node, "lineno", 1) + self.offset
            for name in sorted(summary.gmutates - local):
                self.mutated(name, line)

    def import_(self, s: ast.Import | ast.ImportFrom) -> None:
        for a in s.names:
            if isinstance(s, ast.Import):
                stmt = f"import {a.name}" + (f" as {a.asname}" if a.asname else "")
                self.bind(a.asname or a.name.split(".")[0], s.lineno, imp=stmt)
                continue
            module = "." * s.level + (s.module or "")
            if a.name == "*":
                self.events.append(StarImport(module, s.lineno + self.offset, f"from {module} import *"))
            else:
                stmt = f"from {module} import {a.name}" + (f" as {a.asname}" if a.asname else "")
                self.bind(a.asname or a.name, s.lineno, imp=stmt)

    # -- expressions ------------------------------------------------------------------------------------------
    def expr(self, node: ast.AST | None) -> None:
        if node is None:
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                self.read(node.id, node.lineno)
            return
        if isinstance(node, ast.NamedExpr):
            self.expr(node.value)
            self.bind(
                node.target.id,
                node.lineno,
                sources=alias_sources(node.value),
                unpicklable=unpicklable_kind(node.value),
                carry=value_carry(node.value, self.cell),
            )
            return
        if isinstance(node, ast.Call):
            self.call(node)
            return
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            self.scoped(node)
            return
        for child in ast.iter_child_nodes(node):
            self.expr(child)

    def scoped(self, node: ast.Lambda | Comprehension) -> None:
        """A lambda or comprehension: its own scope. Free names are read here (conservatively, for a lambda);
        := inside a comprehension binds in the cell's scope; method calls on outer names mutate them."""
        if isinstance(node, ast.Lambda):
            for e in def_time_expressions(node):
                self.expr(e)
        else:
            self.expr(node.generators[0].iter)
        s = summarize(ast.Lambda(args=_NO_ARGS, body=node, lineno=node.lineno), self.cell)
        first_iter = None if isinstance(node, ast.Lambda) else node.generators[0].iter
        skip = {n.id for n in ast.walk(first_iter) if isinstance(n, ast.Name)} if first_iter is not None else set()
        for name, line in s.free.items():
            if name not in skip:
                self.read(name, line)
        for name in sorted(s.gmutates):
            self.mutated(name, node.lineno + self.offset)
        if not isinstance(node, ast.Lambda):
            for n in ast.walk(node):
                if isinstance(n, ast.NamedExpr):
                    self.bind(n.target.id, n.lineno)

    def call(self, node: ast.Call) -> None:
        f = node.func
        ln = node.lineno + self.offset
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Call) and isinstance(f.value.func, ast.Name):
            inner = f.value.func.id
            if inner == "get_ipython" and self.magic(node, f.attr):
                return
            if inner in ("globals", "locals", "vars") and f.attr in ("update", "setdefault", "__setitem__", "pop"):
                self.events.append(Dynamic(f"{inner}().{f.attr}", ln))
        if isinstance(f, ast.Name) and f.id in ("exec", "eval", "execfile"):
            self.events.append(Dynamic(f.id, ln))
        self.expr(f)
        for a in node.args:
            self.expr(a)
        for k in node.keywords:
            self.expr(k.value)
        if isinstance(f, ast.Attribute):
            name = root_name(f.value)
            if name is not None:  # x.append(...), df.fillna(..., inplace=True): a method call may mutate x
                self.mutated(name, ln)
                if node.args or node.keywords:  # ... and store its arguments: x.append(f), o.register(cb=f)
                    parts = ast.Tuple(elts=list(node.args) + [k.value for k in node.keywords], ctx=ast.Load())
                    self.carried(name, ln, value_carry(parts, self.cell))
        elif isinstance(f, ast.Name):
            if f.id == "setattr" and len(node.args) == 3:  # setattr(o, "cb", f) is o.cb = f
                name = root_name(node.args[0])
                if name is not None:
                    self.mutated(name, ln)
                    self.carried(name, ln, value_carry(node.args[2], self.cell))
            args: list[tuple[int | str, str]] = [(i, a.id) for i, a in enumerate(node.args) if isinstance(a, ast.Name)]
            args += [(k.arg, k.value.id) for k in node.keywords if k.arg and isinstance(k.value, ast.Name)]
            if args:
                self.events.append(Call(f.id, ln, args))

    def magic(self, node: ast.Call, method: str) -> bool:
        """get_ipython().system/getoutput/run_line_magic/run_cell_magic(...) as IPython's transformer writes them."""
        args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if not args or len(args) != len(node.args):
            return False
        ln = node.lineno
        if method in ("system", "getoutput"):
            self.expand_reads(args[0], ln)
        elif method == "run_line_magic" and len(args) == 2:
            name, line = args
            if name in ("time", "prun", "capture"):
                self.snippet(line, ln - 1, binds=True)
            elif name == "timeit":
                self.snippet(line, ln - 1, binds=False)
            elif name in ("run", "load", "store"):
                self.events.append(Dynamic(f"%{name}", ln + self.offset))
            else:
                self.expand_reads(line, ln)
        elif method == "run_cell_magic" and len(args) == 3:
            name, line, body = args
            if name in ("capture", "time", "prun"):
                self.snippet(body, ln, binds=True)
                if name == "capture":
                    out = [w for w in line.split() if not w.startswith("-")]
                    if out and out[0].isidentifier():
                        self.bind(out[0], ln)
            elif name == "timeit":
                self.snippet(body, ln, binds=False)
            else:
                self.expand_reads(line, ln)
        else:
            return False
        return True

    def snippet(self, code: str, line_offset: int, binds: bool) -> None:
        tree = parse_snippet(code)
        if tree is None:
            return
        saved, self.offset = self.offset, self.offset + line_offset
        if binds:
            self.block(tree.body)
        else:  # %timeit runs the code in its own scope: only its reads matter
            self.free_reads(tree, set())
        self.offset = saved

    def expand_reads(self, text: str, ln: int) -> None:
        """IPython expands $name and {expr} in shell commands and magic arguments, when they resolve."""
        for m in _VAR.finditer(text):
            if m.group(1):
                self.events.append(SoftRead(m.group(1), ln + self.offset))
                continue
            try:
                tree = ast.parse(m.group(2).strip(), mode="eval")
            except SyntaxError:
                continue
            for n in ast.walk(tree):
                if isinstance(n, ast.Name):
                    self.events.append(SoftRead(n.id, ln + self.offset))


if sys.version_info >= (3, 11):
    _TRY: tuple[type[ast.Try] | type[ast.TryStar], ...] = (ast.Try, ast.TryStar)
else:
    _TRY = (ast.Try,)
_NO_ARGS = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


def _stmt_summary(node: ast.AST) -> FuncSummary:
    body: list[ast.stmt] = node.body if isinstance(node, ast.Module) else [node]  # type: ignore[list-item]
    fake = ast.FunctionDef(name="<body>", args=_NO_ARGS, body=body, decorator_list=[], returns=None, lineno=1)
    return summarize(fake, -1)


def class_held(s: ast.ClassDef) -> list[ast.AST]:
    """The parts of a class statement whose values the class keeps and may call later: bases and keywords (a
    notebook base class's or metaclass's methods), and its body's statements (a function stored as a class attribute,
    a method's default or decorator), nested classes included; method bodies are the class summary's concern."""
    held: list[ast.AST] = [*s.bases, *(k.value for k in s.keywords)]
    for node in s.body:
        if isinstance(node, ast.ClassDef):
            held += node.decorator_list
            held += class_held(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            held += def_time_expressions(node)
        else:
            held.append(node)
    return held
