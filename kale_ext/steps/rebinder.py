"""The rebinder: notebook functions among a step's loaded inputs read their globals from the step's namespace.

In one kernel every function defined in the notebook reads its globals from ``__main__`` where it is called. A step loads
its inputs from artifacts written by other processes, and cloudpickle gives each loaded notebook function a private copy
of the globals it read there; ``Rebinder`` walks the loaded values and rebinds those functions to the step's namespace, so
that a step behaves as the same cells would in one kernel. Standard library only; never imports tornado or
jupyter_server.
"""

from __future__ import annotations

import collections
import functools
import types
from typing import Any


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
            fget, fset, fdel = parts
            return property(fget, fset, fdel, attr.__doc__)
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
    out: list[str] = []
    for c in t.__mro__:
        slots = c.__dict__.get("__slots__", ())
        out.extend([slots] if isinstance(slots, str) else slots)
    return [s for s in out if s not in ("__dict__", "__weakref__")]
