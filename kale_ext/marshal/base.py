"""The Serializer interface. A serializer is a small class: which values it takes, how it writes and reads them.

Third-party serializers register through the entry point group ``kale_ext.serializers``; the entry point names a class
(or a zero-argument factory) returning an instance. Must not import numpy/pandas/torch at module level.
"""

from __future__ import annotations

import hashlib
from typing import Any

_HASH_CHUNK = 1 << 24


def file_hash(path: str) -> str:
    """``"sha256:<hex>"`` of the file's bytes: the content hash of an artifact its serializer did not hash itself."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def type_root(value: Any) -> str:
    """The top-level package of a value's type ("numpy", "pandas", "sklearn", "builtins"), without importing anything."""
    return (type(value).__module__ or "").partition(".")[0]


class Serializer:
    """Write one value to one file and read it back with its exact type.

    ``name`` is stable: it is recorded in manifests and the run history, and it selects the loader. ``priority`` orders the
    candidates (highest first) when several accept a value; the cloudpickle fallback has the lowest.
    """

    name: str = ""
    extension: str = ".bin"
    priority: int = 0

    def can_save(self, value: Any) -> bool:
        raise NotImplementedError

    def save(self, value: Any, path: str) -> None:
        raise NotImplementedError

    def load(self, path: str) -> Any:
        raise NotImplementedError

    def save_hashed(self, value: Any, path: str) -> str | None:
        """Optionally write and hash in one pass (return "sha256:<hex>"); None means: hash the written file."""
        return None

    def hash_saved(self, path: str) -> str:
        """The content hash ``save_hashed`` (or the file hash after ``save``) recorded for the file at ``path``,
        computed again from it: how a reader checks that a file is what was recorded. Default: the file's SHA-256;
        a serializer whose ``save_hashed`` hashes something else than the file's bytes overrides it."""
        return file_hash(path)
