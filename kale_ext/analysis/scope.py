"""Python's scoping rules for the analysis: what a function or class reads and writes when it is *called*
(free global names, names declared ``global``, globals and parameters it mutates), and what a value expression may alias.

Function bodies are summarized once, at their definition; the flow (flow.py) applies a summary wherever the
function is used, which is when Python would read those globals. Uses only the stdlib ast.
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import ast

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class FuncSummary:
    """What using a notebook-defined function (or class, via its methods) does to the global namespace."""

    __slots__ = (
        "name",
        "free",
        "gwrites",
        "gmutates",
        "params",
        "mutated_params",
        "generator",
        "cell",
        "line",
        "is_class",
        "nested",
        "refs",
    )

    def __init__(self, name: str, cell: int, line: int):
        self.name = name
        self.free: dict[str, int] = {}  # global name -> first line (in the cell) where the body reads it
        self.gwrites: set[str] = set()  # names declared `global` and bound in the body
        self.gmutates: set[str] = set()  # free global names the body mutates (x.append, x[k] = ...)
        self.params: list[str] = []  # positional parameter names, in order
        self.mutated_params: set[str] = set()  # parameters whose argument the body mutates
        self.generator = False
        self.cell = cell
        self.line = line
        self.is_class = False  # calling it makes an instance, whose methods read ``free`` when called
        self.nested = False  # defines functions, lambdas or classes: calling it may return one
        self.refs: set[str] = set()  # free names loaded other than as the callee of a call (may be returned/stored)


def root_name(node: ast.AST) -> str | None:
    """The variable an attribute/subscript chain hangs from: ``df.loc[0].x`` -> "df"; None when it is not a name."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def alias_sources(node: ast.AST | None) -> tuple[str, ...]:
    """Names whose objects the value of ``node`` may be (or contain): ``x``, ``x.a``, ``x[0]``, ``[a, b]``, ``a or b``.

    Calls are not followed: a function result is treated as a new object.
    """
    if node is None:
        return ()
    if isinstance(node, ast.Name):
        return (node.id,)
    if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        return alias_sources(node.value)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return tuple(n for e in node.elts for n in alias_sources(e))
    if isinstance(node, ast.Dict):
        return tuple(n for v in node.values for n in alias_sources(v))
    if isinstance(node, ast.IfExp):
        return alias_sources(node.body) + alias_sources(node.orelse)
    if isinstance(node, ast.BoolOp):
        return tuple(n for v in node.values for n in alias_sources(v))
    if isinstance(node, ast.NamedExpr):
        return (node.target.id,) + alias_sources(node.value)
    return ()


def target_names(node: ast.AST) -> list[str]:
    """Names bound by an assignment / for / with target (attribute and subscript targets bind nothing)."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for e in node.elts for n in target_names(e)]
    if isinstance(node, ast.Starred):
        return target_names(node.value)
    return []


def arg_names(args: ast.arguments) -> list[str]:
    names = [a.arg for a in args.posonlyargs + args.args]
    if args.vararg:
        names.append(args.vararg.arg)
    names += [a.arg for a in args.kwonlyargs]
    if args.kwarg:
        names.append(args.kwarg.arg)
    return names


def def_time_expressions(node: ast.AST) -> list[ast.AST]:
    """Expressions Python evaluates when it executes a def/lambda/class statement (decorators, defaults, bases...)."""
    out: list[ast.AST] = list(getattr(node, "decorator_list", []))
    if isinstance(node, ast.ClassDef):
        return out + node.bases + [k.value for k in node.keywords]
    args = node.args
    out += [d for d in args.defaults + args.kw_defaults if d is not None]
    if not isinstance(node, ast.Lambda):
        for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if a is not None and a.annotation is not None:
                out.append(a.annotation)
        if node.returns is not None:
            out.append(node.returns)
    return out


class _BodyScan:
    """Collect the names a function (or class) body binds, reads, mutates and declares global, honouring nested scopes."""

    def __init__(self) -> None:
        self.stored: set[str] = set()
        self.loads: dict[str, int] = {}
        self.mutated: dict[str, int] = {}
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.generator = False
        self.nested: list[FuncSummary] = []  # summaries of nested defs, lambdas and classes
        self.refs: set[str] = set()  # names loaded other than as a callee
        self.callees: set[int] = set()  # ids of Name nodes that are the callee of a call

    def load(self, name: str, line: int) -> None:
        self.loads.setdefault(name, line)

    def scan(self, nodes: list[ast.AST]) -> None:
        stack = list(reversed(nodes))
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    self.load(node.id, node.lineno)
                    if id(node) not in self.callees:
                        self.refs.add(node.id)
                else:
                    self.stored.add(node.id)
                continue
            if isinstance(node, _SCOPES):
                if not isinstance(node, ast.Lambda):
                    self.stored.add(node.name)
                inner = summarize(node, -1)
                self.nested.append(inner)
                stack.extend(reversed(def_time_expressions(node)))
                continue
            if isinstance(node, _COMPS):
                self._comprehension(node)
                continue
            if isinstance(node, ast.Global):
                self.globals.update(node.names)
            elif isinstance(node, ast.Nonlocal):
                self.nonlocals.update(node.names)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    if a.name != "*":
                        self.stored.add(a.asname or a.name.split(".")[0])
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self.stored.add(node.name)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                self.stored.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                self.stored.add(node.rest)
            elif isinstance(node, (ast.Yield, ast.YieldFrom)):
                self.generator = True
            elif isinstance(node, (ast.Attribute, ast.Subscript)) and not isinstance(node.ctx, ast.Load):
                self._mutate(node, node.lineno)
            elif isinstance(node, ast.AugAssign) and not isinstance(node.target, ast.Name):
                self._mutate(node.target, node.lineno)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                self._mutate(node.func.value, node.lineno)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                self.callees.add(id(node.func))
            stack.extend(reversed(list(ast.iter_child_nodes(node))))

    def _mutate(self, node: ast.AST, line: int) -> None:
        name = root_name(node)
        if name is not None:
            self.mutated.setdefault(name, line)

    def _comprehension(self, node: ast.AST) -> None:
        # The first iterable is evaluated in the enclosing scope; the targets are local to the comprehension.
        gens = node.generators
        self.scan([gens[0].iter])
        inner = _BodyScan()
        parts: list[ast.AST] = []
        for i, g in enumerate(gens):
            parts.append(g.target)
            if i:
                parts.append(g.iter)
            parts.extend(g.ifs)
        parts.extend([node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt])
        walrus = [n.target.id for p in parts for n in ast.walk(p) if isinstance(n, ast.NamedExpr)]
        inner.scan(parts)
        self.stored.update(walrus)  # := in a comprehension binds in the enclosing scope
        self.refs |= inner.refs
        local = inner.stored - set(walrus)
        for name, line in inner.free_loads(local).items():
            self.load(name, line)
        for name, line in inner.mutated.items():
            if name not in local:
                self.mutated.setdefault(name, line)
        self.nested.extend(inner.nested)

    def free_loads(self, local: set[str]) -> dict[str, int]:
        out = {n: ln for n, ln in self.loads.items() if n not in local}
        for inner in self.nested:
            for n, ln in inner.free.items():
                if n not in local:
                    out.setdefault(n, ln)
        return out


def summarize(node: ast.AST, cell: int) -> FuncSummary:
    """Summarize a def, lambda or class: what using it reads and writes in the global namespace."""
    name = getattr(node, "name", "<lambda>")
    s = FuncSummary(name, cell, node.lineno)
    scan = _BodyScan()
    s.is_class = isinstance(node, ast.ClassDef)
    if isinstance(node, ast.ClassDef):
        # A class body runs at definition (flow.py reads its names there); its methods run later, when used.
        scan.scan(node.body)
        s.free = scan.free_loads(scan.stored)  # class-level names are not visible inside methods: Python agrees
        for inner in scan.nested:
            s.gwrites |= inner.gwrites
            s.gmutates |= inner.gmutates
        s.gmutates |= {n for n in scan.mutated if n not in scan.stored}
        s.refs = _refs(scan, s.free)
        return s
    params = arg_names(node.args)
    s.params = [a.arg for a in node.args.posonlyargs + node.args.args]
    body = [node.body] if isinstance(node, ast.Lambda) else node.body
    scan.scan(body)
    declared = scan.globals
    local = (scan.stored | set(params) | scan.nonlocals) - declared
    s.free = scan.free_loads(local)
    for inner in scan.nested:
        s.gwrites |= inner.gwrites
        s.gmutates |= {n for n in inner.gmutates if n not in local}
    s.gwrites |= declared & scan.stored
    s.gmutates |= {n for n in scan.mutated if n not in local}
    s.mutated_params = {p for p in params if p in scan.mutated and p not in declared}
    s.generator = scan.generator
    s.nested = bool(scan.nested)
    s.refs = _refs(scan, s.free)
    return s


def _refs(scan: _BodyScan, free: dict[str, int]) -> set[str]:
    refs = set(scan.refs)
    for inner in scan.nested:
        refs |= inner.refs
    return {n for n in refs if n in free}
