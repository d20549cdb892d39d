"""The built-in serializers: numpy arrays, pandas objects, scikit-learn/xgboost models (joblib), torch, plain Python data,
and cloudpickle as the fallback for everything else (functions and classes defined in the notebook).

Each ``can_save`` looks at the type's module name first, so that no heavy library is imported for values of other types.
"""

from __future__ import annotations

import pickle
import types
from typing import Any

from .base import Serializer, type_root

# Arrays at least this large are memory-mapped copy-on-write on load: the step may modify them, the file never changes.
MMAP_THRESHOLD = 1 << 20

_PLAIN_SCALARS = (type(None), bool, int, float, complex, str, bytes, bytearray, range, slice)


def _is_plain(value: Any, depth: int = 0) -> bool:
    """True for builtin data (containers checked on a bounded sample) that the standard pickle handles by value."""
    t = type(value)
    if t in _PLAIN_SCALARS:
        return True
    if depth > 3:
        return False
    if t in (list, tuple, set, frozenset):
        items = value if len(value) <= 1000 else list(value)[:1000]
        return all(_is_plain(v, depth + 1) for v in items)
    if t is dict:
        items = list(value.items())[:1000]
        return all(_is_plain(k, depth + 1) and _is_plain(v, depth + 1) for k, v in items)
    return False


def _raw_bytes(array: Any) -> Any:
    """The bytes of a C-contiguous array, in order (none for an empty one: it has no buffer to cast)."""
    return memoryview(array).cast("B") if array.size else b""


class NumpyArraySerializer(Serializer):
    """Exact ``numpy.ndarray`` of a non-object dtype: .npy; large files are loaded memory-mapped (mode 'c')."""

    name = "numpy"
    extension = ".npy"
    priority = 100

    def can_save(self, value: Any) -> bool:
        if type_root(value) != "numpy":
            return False
        import numpy as np

        return type(value) is np.ndarray and not value.dtype.hasobject

    def save(self, value: Any, path: str) -> None:
        import numpy as np

        with open(path, "wb") as f:
            np.save(f, value, allow_pickle=False)

    def save_hashed(self, value: Any, path: str) -> str | None:
        """Write the file while another thread hashes the array's memory (both release the GIL): the content hash of
        a 1 GB array costs no extra wall time. The digest covers dtype, shape and the raw bytes."""
        import hashlib
        import threading

        import numpy as np

        if value.flags.f_contiguous and not value.flags.c_contiguous:
            return None  # np.save writes it in Fortran order and it loads back so: its file's hash is checked
        h = hashlib.sha256(f"{value.dtype.str}|{value.shape}|".encode())
        # Another view (a strided slice) is written, and loads back, C-contiguous: its C-order copy is what is read.
        data = _raw_bytes(np.ascontiguousarray(value))
        worker = threading.Thread(target=h.update, args=(data,))
        worker.start()
        try:
            self.save(value, path)
        finally:
            worker.join()
        return "sha256:" + h.hexdigest()

    def hash_saved(self, path: str) -> str:
        """The digest of save_hashed (dtype, shape, raw bytes) for an array it hashed (loaded C-contiguous), else the
        file's hash (what was recorded for an array written by ``save``: one saved in Fortran order)."""
        import hashlib
        import os

        import numpy as np

        big = os.path.getsize(path) >= MMAP_THRESHOLD  # an empty array cannot be mapped
        value = np.load(path, mmap_mode="r" if big else None, allow_pickle=False)
        if not value.flags.c_contiguous:
            return super().hash_saved(path)
        h = hashlib.sha256(f"{value.dtype.str}|{value.shape}|".encode())
        h.update(_raw_bytes(value))
        return "sha256:" + h.hexdigest()

    def load(self, path: str) -> Any:
        import os

        import numpy as np

        if os.path.getsize(path) >= MMAP_THRESHOLD:
            # A view drops the np.memmap subclass (exact type: ndarray) and keeps the mapping alive as its base.
            return np.load(path, mmap_mode="c", allow_pickle=False).view(np.ndarray)
        return np.load(path, allow_pickle=False)


class PicklePlainSerializer(Serializer):
    """Builtin data and numpy/pandas objects (scalars such as np.float64, object arrays, Generators, DataFrames, Series,
    Index): the standard pickle, protocol 5, which keeps their exact types and copies large buffers without re-encoding.

    pandas is kept in pickle rather than parquet: parquet (and pyarrow) is not installed here, and it is not exact
    (object columns of mixed types, non-string column names, index dtypes).
    """

    name = "pickle"
    extension = ".pkl"
    priority = 50

    def can_save(self, value: Any) -> bool:
        root = type_root(value)
        if root in ("numpy", "pandas"):
            return True
        return _is_plain(value)

    def save(self, value: Any, path: str) -> None:
        self.save_hashed(value, path)

    def save_hashed(self, value: Any, path: str) -> str | None:
        from .hashing import dump_hashed

        def fast(v, f):
            pickle.dump(v, f, protocol=5)

        try:
            digest, refers_to_main = dump_hashed(fast, value, path)
        except (pickle.PicklingError, AttributeError, TypeError):
            refers_to_main = True
        if refers_to_main:
            # Object columns may hold instances of classes defined in the notebook (module __main__), which the next
            # step cannot import: cloudpickle stores those by value. The standard pickle reads both.
            digest, _ = dump_hashed(_cloudpickle_dump, value, path)
        return digest

    def load(self, path: str) -> Any:
        with open(path, "rb") as f:
            return pickle.load(f)


def _cloudpickle_dump(value: Any, f: Any, view_roots: dict[int, Any] | None = None) -> None:
    """cloudpickle, with the prelude's classes and functions by reference (MAIN_REFERENCES), lru_cache wrappers of
    notebook functions by value, and numpy views of the arrays in ``view_roots`` (id -> array) kept as views of them."""
    import functools

    import cloudpickle

    global _ReferencingPickler
    if _ReferencingPickler is None:

        class _ReferencingPickler(cloudpickle.Pickler):
            view_roots: dict[int, Any] = {}

            def reducer_override(self, obj: Any) -> Any:
                ref = MAIN_REFERENCES.get(id(obj))
                if ref is not None and ref[1] is obj:
                    return main_attribute, (ref[0],)
                if type(obj) is functools._lru_cache_wrapper and getattr(obj, "__module__", None) == "__main__":
                    # Its own reduction names ``__main__.<qualname>``, which the next step does not define.
                    return rebuild_lru_cache, (obj.__wrapped__, obj.cache_parameters())
                if self.view_roots and type(obj).__name__ == "ndarray":
                    view = _as_view_of(obj, self.view_roots)
                    if view is not None:
                        return view
                return super().reducer_override(obj)

    pickler = _ReferencingPickler(f, protocol=5)
    pickler.view_roots = view_roots or {}
    pickler.dump(value)


def _as_view_of(arr: Any, roots: dict[int, Any]) -> Any:
    """The reduction of ``arr`` as a view of one of ``roots`` (an array owning its data), or None."""
    import numpy as np

    base = arr.base
    if type(arr) is not np.ndarray or base is None or arr.flags.owndata:
        return None
    while isinstance(base, np.ndarray) and base.base is not None and id(base) not in roots:
        base = base.base
    root = roots.get(id(base))
    if root is None or root is not base or not root.flags.c_contiguous:
        return None
    offset = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return make_view, (root, arr.shape, arr.dtype, offset, arr.strides, arr.flags.writeable)


def make_view(root: Any, shape: Any, dtype: Any, offset: int, strides: Any, writeable: bool) -> Any:
    import numpy as np

    view = np.ndarray(shape, dtype, buffer=root, offset=offset, strides=strides)
    if not writeable:
        view.flags.writeable = False
    return view


def rebuild_lru_cache(wrapped: Any, parameters: dict[str, Any]) -> Any:
    import functools

    return functools.lru_cache(**parameters)(wrapped)


_ReferencingPickler: Any = None

# Classes and functions of the prelude (the imports and functions cells), which every step program defines again:
# id -> (name, object). They are pickled by reference to ``__main__.<name>`` so that the next step uses its own
# definition: ``isinstance(obj, Model)`` holds across steps and functions read the step's globals, as in one kernel.
MAIN_REFERENCES: dict[int, tuple[str, Any]] = {}


def register_main_references(namespace: dict[str, Any]) -> None:
    """Record the notebook-defined classes and functions of a namespace after its prelude ran."""
    MAIN_REFERENCES.clear()
    module = namespace.get("__name__", "__main__")
    for name, obj in namespace.items():
        if (
            isinstance(obj, type | types.FunctionType)
            and getattr(obj, "__module__", None) == module
            and getattr(obj, "__qualname__", None) == name
        ):
            MAIN_REFERENCES[id(obj)] = (name, obj)


def main_attribute(name: str) -> Any:
    """The unpickler of a prelude reference: the definition of ``name`` in the loading step's ``__main__``."""
    import sys

    return getattr(sys.modules["__main__"], name)


class JoblibSerializer(Serializer):
    """scikit-learn, xgboost, lightgbm and scipy objects: joblib (efficient for the numpy arrays inside models)."""

    name = "joblib"
    extension = ".joblib"
    priority = 80
    roots = ("sklearn", "xgboost", "lightgbm", "scipy", "imblearn")

    def can_save(self, value: Any) -> bool:
        return type_root(value) in self.roots

    def save(self, value: Any, path: str) -> None:
        import joblib

        joblib.dump(value, path, compress=0)

    def load(self, path: str) -> Any:
        import joblib

        return joblib.load(path)


class TorchSerializer(Serializer):
    """torch tensors and modules, saved whole with torch.save. torch is imported only for values of torch types."""

    name = "torch"
    extension = ".pt"
    priority = 80

    def can_save(self, value: Any) -> bool:
        if type_root(value) == "torch":
            return True
        # nn.Module subclasses defined in the notebook live in __main__ but derive from torch.nn.Module.
        return any(c.__module__.startswith("torch.") for c in type(value).__mro__[1:]) and _torch_loaded()

    def save(self, value: Any, path: str) -> None:
        import torch

        torch.save(value, path)

    def load(self, path: str) -> Any:
        import torch

        return torch.load(path, weights_only=False)


def _torch_loaded() -> bool:
    import sys

    return "torch" in sys.modules


class CloudpickleSerializer(Serializer):
    """The fallback: anything cloudpickle can serialize, including functions and classes defined in the notebook."""

    name = "cloudpickle"
    extension = ".cpkl"
    priority = -100

    def can_save(self, value: Any) -> bool:
        return True

    def save(self, value: Any, path: str) -> None:
        self.save_hashed(value, path)

    def save_hashed(self, value: Any, path: str) -> str | None:
        from .hashing import dump_hashed

        return dump_hashed(_cloudpickle_dump, value, path)[0]

    def load(self, path: str) -> Any:
        # cloudpickle output is read by the standard pickle; cloudpickle is imported for its reconstructors.
        import cloudpickle  # noqa: F401

        with open(path, "rb") as f:
            return pickle.load(f)


BUILTIN_SERIALIZERS: tuple[type[Serializer], ...] = (
    NumpyArraySerializer,
    JoblibSerializer,
    TorchSerializer,
    PicklePlainSerializer,
    CloudpickleSerializer,
)
