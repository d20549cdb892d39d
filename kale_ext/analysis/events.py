"""The typed events of one cell, in execution order: what cellscan.py finds in a cell and flow.py applies to the
notebook's state. One slotted dataclass per kind; lines are 1-based lines of the cell (magic bodies included).

Plain data: imports only scope.FuncSummary (for typing). Must not import tornado or jupyter_server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .scope import FuncSummary

# What a value may hold of the notebook's code: (names it is built from, names it calls, summaries of inline lambdas).
CarryInfo = tuple[tuple[str, ...], tuple[str, ...], tuple["FuncSummary", ...]]
NO_CARRY: CarryInfo = ((), (), ())


@dataclass(slots=True)
class Read:
    """A global name is read (its value is needed here)."""

    name: str
    line: int


@dataclass(slots=True)
class LocalRead:
    """A name is read after a binding in the same conditional block: the value is the cell's own, but using a
    function or class still reads what it reads."""

    name: str
    line: int


@dataclass(slots=True)
class SoftRead:
    """$name or {expr} in a shell command or magic argument: read when bound, never reported as undefined."""

    name: str
    line: int


@dataclass(slots=True)
class Bind:
    """A name gets bound: what it may alias, whether the binding is conditional, and what kind of value it is."""

    name: str
    line: int
    sources: tuple[str, ...] = ()
    cond: bool = False  # in an if/for/while/try: the binding may not happen
    imp: str | None = None  # the import statement that binds it
    func: FuncSummary | None = None  # a def, a class or `f = lambda ...`
    unpicklable: str | None = None  # "an open file", "a lock" ...
    callee: str | None = None  # `x = f(...)`: f, to tell a generator function's result
    carry: CarryInfo = NO_CARRY  # what the value may hold of the notebook's code


@dataclass(slots=True)
class Mutate:
    """The object a name is bound to may be modified (x.append, x[k] = ..., x.a = ..., x += ...)."""

    name: str
    line: int
    local: bool = False  # follows a binding in the same conditional block


@dataclass(slots=True)
class Delete:
    """`del name`: the name is read, then unbound."""

    name: str
    line: int


@dataclass(slots=True)
class Unbind:
    """The name stops being bound without being read (an except handler's name at the end of the handler)."""

    name: str
    line: int


@dataclass(slots=True)
class Call:
    """A notebook name is called with names as arguments: args are (position or keyword, argument name)."""

    name: str
    line: int
    args: list[tuple[int | str, str]]


@dataclass(slots=True)
class Dynamic:
    """exec/eval, a write through globals()/locals()/vars(), %run/%load/%store: names the analysis cannot see."""

    what: str  # "exec", "globals().update", "%run" ...
    line: int


@dataclass(slots=True)
class StarImport:
    """`from module import *`."""

    module: str
    line: int
    stmt: str


@dataclass(slots=True)
class Carry:
    """The object a name is bound to now (also) holds what ``carry`` describes: x.append(f), d[k] = f, o.cb = f."""

    name: str
    line: int
    carry: CarryInfo


Event = Read | LocalRead | SoftRead | Bind | Mutate | Delete | Unbind | Call | Dynamic | StarImport | Carry
