"""Store usage and artifact integrity (kale_ext.store.usage): categories that add up, hashes that catch a flipped byte."""

from __future__ import annotations

import os

from kale_ext.runners.local import LocalRunner
from kale_ext.store import Store
from kale_ext.store.usage import CATEGORIES, category_of, disk_usage, record_counts, verify_artifacts
from tests.runners.helpers import pipeline, step, write_notebook

PIPELINE = pipeline(
    step(
        "make",
        "import numpy as np\narr = np.arange(1000.0)\nitems = list(range(100))",
        index=1,
        outputs=["arr", "items"],
    ),
    step("use", "s = float(arr.sum()) + sum(items)", index=2, deps=["make"], inputs=["arr", "items"]),
    metrics={"s": "use"},
)


def one_run(tmp_path):
    store = Store(str(tmp_path / ".kale"))
    nb, _ = write_notebook(tmp_path / "nb.ipynb")
    runner = LocalRunner(store, snapshots=False)
    try:
        run = runner.wait(runner.start(PIPELINE, nb))
    finally:
        runner.close()
    assert run["status"] == "succeeded"
    return store, run


def test_categories():
    assert category_of("kale.db") == "database" and category_of("kale.db-wal") == "database"
    assert category_of("runs/r1/make/log.txt") == "logs"
    assert category_of("runs/r1/make/outputs/x.pkl") == "runs/artifacts"
    assert category_of("objects/ab/cdef") == "objects/snapshots"
    assert category_of("probes/p.json") == "other" and category_of("runs") == "other"


def test_disk_usage_adds_up_to_every_file_of_the_store(tmp_path):
    store, _ = one_run(tmp_path)
    os.makedirs(os.path.join(store.folder, "objects", "ab"))
    with open(os.path.join(store.folder, "objects", "ab", "chunk"), "wb") as f:
        f.write(b"x" * 1234)
    usage = disk_usage(store.folder)
    walked = [os.path.join(b, n) for b, _, names in os.walk(store.folder) for n in names]
    assert usage["total"] == {"bytes": sum(os.path.getsize(p) for p in walked), "files": len(walked)}
    assert sum(usage[c]["bytes"] for c in CATEGORIES) == usage["total"]["bytes"]
    assert sum(usage[c]["files"] for c in CATEGORIES) == usage["total"]["files"]
    assert usage["objects/snapshots"] == {"bytes": 1234, "files": 1}
    assert usage["logs"]["files"] == 2 and usage["database"]["bytes"] > 0 and usage["runs/artifacts"]["bytes"] > 8000
    counts = record_counts(store)
    assert counts["runs"] == 1 and counts["steps"] == 2 and counts["artifacts"] == 2 and counts["snapshots"] == 0


def test_verify_artifacts_finds_a_flipped_byte_in_a_pickle_and_in_a_numpy_array(tmp_path):
    store, run = one_run(tmp_path)
    assert verify_artifacts(store) == ([], 2)
    outputs = {o["name"]: o["path"] for o in run["steps"][0]["outputs"]}
    flipped = []
    for name in ("arr", "items"):
        path = outputs[name]
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) - 3)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x01]))
        flipped.append(name)
        damage, checked = verify_artifacts(store)
        assert checked == 2 and sorted(d["name"] for d in damage) == flipped
        assert all("content hash differs" in d["problem"] and d["step"] == "make" for d in damage)
    os.remove(outputs["arr"])
    assert any(d["problem"].startswith("missing") for d in verify_artifacts(store)[0])


def test_a_numpy_artifact_is_clean_whatever_its_layout_and_a_flipped_byte_is_found(tmp_path):
    import numpy as np

    from kale_ext.marshal import save_value
    from kale_ext.store.usage import artifact_problem

    arrays = {
        "c": np.arange(12.0).reshape(3, 4),
        "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "strided": np.arange(40.0)[::2],  # not contiguous: the file's hash is recorded, the file loads C-contiguous
        "big": np.ones((600, 300)),  # memory-mapped when checked
        "big_strided": np.ones((600, 600))[:, ::2],
    }
    for name, value in arrays.items():
        entry = save_value(name, value, str(tmp_path))
        assert entry.serializer == "numpy", name
        assert artifact_problem(entry.path, entry.serializer, entry.hash, entry.size) is None, name
        with open(entry.path, "r+b") as f:
            f.seek(-3, os.SEEK_END)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x01]))
        problem = artifact_problem(entry.path, entry.serializer, entry.hash, entry.size)
        assert problem is not None and "content hash differs" in problem, name
