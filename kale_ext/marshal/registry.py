"""The serializer registry: built-ins plus the ``kale_ext.serializers`` entry points, chosen by the value's type.

A value is offered to every serializer that accepts it, highest priority first; if one fails, the next is tried, so the
cloudpickle fallback catches what the specialised ones cannot write. A value nobody can write raises SerializationError
naming the variable, its type and the fix. Never imports heavy libraries at module level.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import KaleError
from .base import Serializer, file_hash
from .builtins import BUILTIN_SERIALIZERS

ENTRY_POINT_GROUP = "kale_ext.serializers"
# Shared-output groups: one file holding several names (reserved serializer name, not a registered Serializer).
GROUP_SERIALIZER = "group"
GROUP_PREFIX = "__group__"


class SerializationError(KaleError):
    status = 500
    code = "marshal.unserializable"


@dataclass
class ArtifactEntry:
    """One saved variable, as recorded in a step's output manifest and in the run history."""

    name: str
    path: str
    serializer: str
    hash: str
    size: int
    type: str  # "module.QualName" of the value's type

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactEntry:
        return cls(**{k: data[k] for k in ("name", "path", "serializer", "hash", "size", "type")})


def type_name(value: Any) -> str:
    t = type(value)
    return f"{t.__module__}.{t.__qualname__}"


class Registry:
    def __init__(self, serializers: list[Serializer] | None = None, load_entry_points: bool = True):
        self._serializers: dict[str, Serializer] = {}
        for s in serializers if serializers is not None else [cls() for cls in BUILTIN_SERIALIZERS]:
            self.register(s)
        self._entry_points_pending = load_entry_points

    def register(self, serializer: Serializer) -> None:
        if not serializer.name:
            raise ValueError(f"serializer {serializer!r} has no name")
        self._serializers[serializer.name] = serializer

    def _ensure_entry_points(self) -> None:
        if not self._entry_points_pending:
            return
        self._entry_points_pending = False
        if not _group_declared_anywhere(ENTRY_POINT_GROUP):
            return  # importlib.metadata's full scan costs ~0.1 s per process; skip it when nobody registers a serializer
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            obj = ep.load()
            self.register(obj() if callable(obj) and not isinstance(obj, Serializer) else obj)

    def get(self, name: str) -> Serializer:
        self._ensure_entry_points()
        try:
            return self._serializers[name]
        except KeyError:
            raise SerializationError(
                f"No serializer named {name!r} is installed (known: {', '.join(sorted(self._serializers))}); "
                f"install the package that registers it under the entry point group {ENTRY_POINT_GROUP!r}."
            ) from None

    def candidates(self, value: Any) -> list[Serializer]:
        self._ensure_entry_points()
        ordered = sorted(self._serializers.values(), key=lambda s: -s.priority)
        out = []
        for s in ordered:
            try:
                if s.can_save(value):
                    out.append(s)
            except Exception:  # a third-party can_save must not break data passing
                continue
        return out

    def save(self, name: str, value: Any, directory: str) -> ArtifactEntry:
        """Write ``value`` as ``directory/name.<ext>`` with the first serializer that succeeds."""
        failures = []
        for s in self.candidates(value):
            path = os.path.join(directory, name + s.extension)
            try:
                digest = s.save_hashed(value, path)
                if digest is None:
                    s.save(value, path)
                    digest = file_hash(path)
            except Exception as exc:
                failures.append(f"{s.name}: {type(exc).__name__}: {exc}")
                if os.path.exists(path):
                    os.remove(path)
                continue
            return ArtifactEntry(name, path, s.name, digest, os.path.getsize(path), type_name(value))
        tn = type_name(value)
        raise SerializationError(
            f"Variable {name!r} of type {tn} cannot be passed to the next steps: no serializer could write it "
            f"({'; '.join(failures) or 'none accepts it'}). Fix: recreate it in each step that uses it (for example "
            f"open files, connections, generators and locks), convert it to plain data before the step ends, or register "
            f"a serializer for {tn} under the entry point group {ENTRY_POINT_GROUP!r}.",
            details={"variable": name, "type": tn, "failures": failures},
        )

    def save_group(self, names: list[str], values: dict[str, Any], directory: str) -> list[ArtifactEntry]:
        """Write names that may share objects (aliases, names modified together) as ONE object graph: a single
        cloudpickle of ``{name: value}``. Each name gets its own entry pointing at the same file (same path and hash,
        serializer ``group``); the key of a name inside the file is the name itself."""
        from .builtins import _cloudpickle_dump
        from .hashing import dump_hashed

        # Groups are disjoint: the first name and the size identify the file.
        path = os.path.join(directory, f"{GROUP_PREFIX}{names[0]}+{len(names) - 1}.cpkl")
        graph = {n: values[n] for n in names}
        # numpy arrays of the group owning their data: views of them (in the group) stay views after loading.
        roots = {
            id(v): v
            for v in graph.values()
            if type(v).__name__ == "ndarray" and type(v).__module__ == "numpy" and v.flags.owndata
        }
        try:
            digest = dump_hashed(lambda value, f: _cloudpickle_dump(value, f, roots), graph, path)[0]
        except Exception as exc:
            if os.path.exists(path):
                os.remove(path)
            # Name the culprit: the first member that cannot be written on its own.
            for n in names:
                os.remove(self.save(n, values[n], directory).path)
            raise SerializationError(
                f"Variables {', '.join(map(repr, names))} share objects and must be passed as one object graph, which "
                f"could not be written ({type(exc).__name__}: {exc}). Fix: convert them to plain data before the step "
                "ends, or recreate them in each step that uses them.",
                details={"variables": list(names)},
            ) from None
        size = os.path.getsize(path)
        return [ArtifactEntry(n, path, GROUP_SERIALIZER, digest, size, type_name(values[n])) for n in names]

    def hash_saved(self, entry: ArtifactEntry) -> str:
        """The content hash of the file ``entry`` names, computed again the way its serializer recorded it: equal to
        ``entry.hash`` when the file is the one written."""
        if entry.serializer == GROUP_SERIALIZER:
            return file_hash(entry.path)
        return self.get(entry.serializer).hash_saved(entry.path)

    def load(self, entry: ArtifactEntry) -> Any:
        if entry.serializer == GROUP_SERIALIZER:
            return _load_graph(entry.path)[entry.name]
        return self.get(entry.serializer).load(entry.path)

    def load_many(self, entries: dict[str, ArtifactEntry]) -> dict[str, Any]:
        """Load several inputs; the names of one group file come from ONE load, so shared objects stay shared."""
        graphs: dict[str, dict[str, Any]] = {}
        out = {}
        for name, entry in entries.items():
            if entry.serializer == GROUP_SERIALIZER:
                if entry.path not in graphs:
                    graphs[entry.path] = _load_graph(entry.path)
                out[name] = graphs[entry.path][entry.name]
            else:
                out[name] = self.load(entry)
        return out


def _load_graph(path: str) -> dict[str, Any]:
    import pickle

    import cloudpickle  # noqa: F401 - its reconstructors

    with open(path, "rb") as f:
        return pickle.load(f)


def _group_declared_anywhere(group: str) -> bool:
    """A cheap pre-check: does any installed distribution's entry_points.txt mention ``[group]``? (Directories on
    sys.path only; when unsure, answer True so that the real scan runs.)"""
    import glob
    import sys

    header = f"[{group}]"
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            if entry and os.path.isfile(entry):  # a zip on sys.path: only the real scan can read it
                return True
            continue
        for meta in glob.glob(os.path.join(glob.escape(entry), "*.*-info", "entry_points.txt")):
            try:
                with open(meta, encoding="utf-8", errors="replace") as f:
                    if header in f.read():
                        return True
            except OSError:
                return True
    return False


_default: Registry | None = None


def default_registry() -> Registry:
    global _default
    if _default is None:
        _default = Registry()
    return _default


def save_value(name: str, value: Any, directory: str) -> ArtifactEntry:
    return default_registry().save(name, value, directory)


def load_value(entry: ArtifactEntry) -> Any:
    return default_registry().load(entry)


def save_group(names: list[str], values: dict[str, Any], directory: str) -> list[ArtifactEntry]:
    return default_registry().save_group(names, values, directory)


def load_values(entries: dict[str, ArtifactEntry]) -> dict[str, Any]:
    return default_registry().load_many(entries)
