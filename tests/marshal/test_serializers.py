"""Every built-in serializer round-trips values with their exact types; failures name the variable, type and fix."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kale_ext.marshal import ArtifactEntry, SerializationError, Serializer, load_value, save_value
from kale_ext.marshal.builtins import MMAP_THRESHOLD
from kale_ext.marshal.registry import Registry


def roundtrip(value, tmp_path, name="v"):
    entry = save_value(name, value, str(tmp_path))
    again = load_value(ArtifactEntry.from_json(entry.to_json()))
    assert type(again) is type(value)
    return entry, again


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        2.5,
        1 + 2j,
        "text",
        b"bytes",
        [1, "a", (2, 3)],
        (1, 2),
        {1, 2},
        frozenset({3}),
        {"a": [1, 2], 3: None},
        range(5),
    ],
    ids=lambda v: type(v).__name__,
)
def test_plain_python(value, tmp_path):
    entry, again = roundtrip(value, tmp_path)
    assert entry.serializer == "pickle"
    assert again == value


@pytest.mark.parametrize(
    "value",
    [np.float64(1.5), np.float32(2.5), np.int64(7), np.bool_(True), np.datetime64("2024-01-02")],
    ids=lambda v: type(v).__name__,
)
def test_numpy_scalars_keep_their_type(value, tmp_path):
    entry, again = roundtrip(value, tmp_path)
    assert again == value and again.dtype == value.dtype


def test_small_array_loads_in_memory(tmp_path):
    value = np.arange(12, dtype=np.int16).reshape(3, 4)
    entry, again = roundtrip(value, tmp_path)
    assert entry.serializer == "numpy" and entry.path.endswith(".npy")
    assert again.dtype == np.int16 and again.shape == (3, 4) and (again == value).all()


def test_large_array_is_memory_mapped_copy_on_write(tmp_path):
    value = np.random.default_rng(0).random(MMAP_THRESHOLD // 8 + 10)
    entry, again = roundtrip(value, tmp_path)
    assert isinstance(again.base, np.memmap), "large arrays are mapped, not read"
    assert np.array_equal(again, value)
    again[0] = -1.0  # allowed (copy-on-write) and never reaches the file
    assert load_value(entry)[0] == value[0]


def test_array_hash_is_stable_and_content_based(tmp_path):
    a = np.arange(1000.0)
    h1 = save_value("a", a, str(tmp_path)).hash
    h2 = save_value("b", a.copy(), str(tmp_path)).hash
    h3 = save_value("c", a + 1, str(tmp_path)).hash
    assert h1 == h2 != h3
    assert save_value("d", a.reshape(10, 100), str(tmp_path)).hash != h1


def test_non_contiguous_and_object_arrays(tmp_path):
    strided = np.arange(20.0).reshape(4, 5)[:, ::2]
    entry, again = roundtrip(strided, tmp_path)
    assert entry.serializer == "numpy" and np.array_equal(again, strided)
    objects = np.array([1, "a", None], dtype=object)
    entry, again = roundtrip(objects, tmp_path)
    assert entry.serializer == "pickle" and list(again) == [1, "a", None]


@pytest.mark.parametrize(
    "array",
    [
        np.arange(20.0),
        np.arange(20.0).reshape(4, 5)[:, ::2],  # strided: written, and loaded back, C-contiguous
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),  # written, and loaded back, in Fortran order
        np.zeros((0, 3)),  # empty: no buffer to hash
        np.array(3.5),  # 0-d
        np.arange(MMAP_THRESHOLD // 8 + 8.0)[::2],  # loaded memory-mapped
    ],
    ids=["contiguous", "strided", "fortran", "empty", "0-d", "mapped"],
)
def test_the_recorded_hash_of_an_array_is_found_again_from_its_file(array, tmp_path):
    # what a reader (step exploration, `kale-ext store verify`) checks: the file is what was recorded
    entry = save_value("a", array, str(tmp_path))
    assert entry.serializer == "numpy"
    assert Registry(load_entry_points=False).hash_saved(entry) == entry.hash
    assert np.array_equal(load_value(entry), array)


def test_numpy_generator_saves_and_loads(tmp_path):
    rng = np.random.default_rng(42)
    rng.random(3)
    _, again = roundtrip(rng, tmp_path)
    assert again.random() == rng.random()


def test_pandas_objects(tmp_path):
    df = pd.DataFrame(
        {
            "i": np.arange(5, dtype=np.int32),
            "f": np.linspace(0, 1, 5),
            "cat": pd.Categorical(list("abcab")),
            "when": pd.date_range("2024-01-01", periods=5, tz="UTC"),
            "obj": [1, "x", None, 2.5, (1,)],
        },
        index=pd.Index([10, 20, 30, 40, 50], name="key"),
    )
    _, again = roundtrip(df, tmp_path)
    pd.testing.assert_frame_equal(again, df)
    s = pd.Series([1.5, None], name="s", dtype="Float64")
    _, again = roundtrip(s, tmp_path)
    pd.testing.assert_series_equal(again, s)
    idx = pd.MultiIndex.from_tuples([(1, "a"), (2, "b")])
    _, again = roundtrip(idx, tmp_path)
    assert again.equals(idx)


def test_sklearn_model_via_joblib(tmp_path):
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    model = LogisticRegression().fit(X, y)
    entry, again = roundtrip(model, tmp_path)
    assert entry.serializer == "joblib"
    assert (again.predict(X) == model.predict(X)).all()


def test_functions_and_classes_defined_in_the_notebook_use_cloudpickle(tmp_path):
    namespace = {"__name__": "__main__"}
    exec(
        "class Box:\n    def __init__(self, v):\n        self.v = v\n    def twice(self):\n        return 2 * self.v\n"
        "def helper(x):\n    return x + 1\nbox = Box(21)",
        namespace,
    )
    entry, again = roundtrip(namespace["helper"], tmp_path, "helper")
    assert entry.serializer == "cloudpickle" and again(1) == 2
    entry = save_value("box", namespace["box"], str(tmp_path))
    assert entry.serializer == "cloudpickle"
    # In another interpreter, where Box does not exist: by value.
    code = (
        "import pickle, sys; b = pickle.load(open(sys.argv[1], 'rb')); "
        "assert type(b).__name__ == 'Box' and b.twice() == 42"
    )
    subprocess.run([sys.executable, "-c", code, entry.path], check=True)


def test_dataframe_holding_notebook_objects(tmp_path):
    namespace = {"__name__": "__main__"}
    exec("class Tag:\n    def __init__(self, n):\n        self.n = n\ndf = None", namespace)
    df = pd.DataFrame({"t": [namespace["Tag"](1), namespace["Tag"](2)]})
    entry = save_value("df", df, str(tmp_path))
    code = "import pickle, sys; d = pickle.load(open(sys.argv[1], 'rb')); assert [t.n for t in d['t']] == [1, 2]"
    subprocess.run([sys.executable, "-c", code, entry.path], check=True)


def test_unserializable_value_names_variable_type_and_fix(tmp_path):
    gen = (i for i in range(3))
    with pytest.raises(SerializationError) as info:
        save_value("numbers", gen, str(tmp_path))
    msg = info.value.message
    assert "'numbers'" in msg and "builtins.generator" in msg and "Fix:" in msg
    assert list(tmp_path.iterdir()) == [], "no partial file is left behind"


def test_torch_when_installed(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed here")
    t = torch.arange(6).reshape(2, 3)
    entry, again = roundtrip(t, tmp_path)
    assert entry.serializer == "torch" and torch.equal(again, t)


def test_no_heavy_import_for_plain_values(tmp_path):
    code = (
        "import sys; from kale_ext.marshal import save_value, load_value; "
        f"e = save_value('x', {{'a': 1}}, {str(tmp_path)!r}); load_value(e); "
        "heavy = [m for m in ('numpy', 'pandas', 'torch', 'joblib', 'sklearn') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class _Upper(Serializer):
    name = "upper-text"
    extension = ".txt"
    priority = 200

    def can_save(self, value):
        return isinstance(value, str)

    def save(self, value, path):
        with open(path, "w") as f:
            f.write(value.upper())

    def load(self, path):
        with open(path) as f:
            return f.read()


def test_entry_point_serializers_are_used(tmp_path, monkeypatch):
    """A distribution declaring the entry point group (a real dist-info folder on sys.path) adds its serializer."""
    dist = tmp_path / "site" / "upper_serializer-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: upper-serializer\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[kale_ext.serializers]\nupper = tests.marshal.test_serializers:_Upper\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry = Registry()
    entry = registry.save("s", "hello", str(tmp_path))
    assert entry.serializer == "upper-text"
    assert registry.load(entry) == "HELLO"
    assert registry.save("n", 3, str(tmp_path)).serializer == "pickle"


def test_without_declared_serializers_the_entry_point_scan_is_skipped(monkeypatch, tmp_path):
    import importlib.metadata

    def fail(**kw):
        raise AssertionError("importlib.metadata scanned although no distribution declares the group")

    monkeypatch.setattr(importlib.metadata, "entry_points", fail)
    assert Registry().save("n", 3, str(tmp_path)).serializer == "pickle"
