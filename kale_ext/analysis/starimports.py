"""Resolve ``from MODULE import *`` to the names it binds, without switching the analysis off.

Standard-library modules are imported (cheap and free of side effects); other modules are read statically from their
source (their ``__all__`` or public top-level names) so that analyzing a notebook never runs user code.
Returns None when a module cannot be inspected. Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import sys

_cache: dict[str, frozenset[str] | None] = {}


def star_exports(module: str) -> frozenset[str] | None:
    if module not in _cache:
        _cache[module] = _resolve(module)
    return _cache[module]


def _resolve(module: str) -> frozenset[str] | None:
    if not module or module.startswith("."):
        return None
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or module in sys.modules:
        try:
            mod = importlib.import_module(module)
        except Exception:
            return None
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n in vars(mod) if not n.startswith("_")]
        return frozenset(n for n in names if isinstance(n, str))
    path = _source_path(module)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    return _static_exports(tree)


def _source_path(module: str) -> str | None:
    """Find a module's source file without importing it (or its parent packages)."""
    path = None
    spec = None
    for part in module.split("."):
        try:
            spec = importlib.machinery.PathFinder.find_spec(part, path)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        path = spec.submodule_search_locations
    origin = spec.origin if spec is not None else None
    return origin if origin and origin.endswith(".py") else None


def _static_exports(tree: ast.Module) -> frozenset[str] | None:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return None  # a computed __all__: cannot tell statically
            return frozenset(n for n in value if isinstance(n, str))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                if a.name == "*":
                    return None
                names.add(a.asname or a.name.split(".")[0])
    return frozenset(n for n in names if not n.startswith("_"))
