"""Faults: corrupted and missing chunks (found by restore and verify), a full disk, two processes at once, gc."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kale_ext.marshal.registry import file_hash
from kale_ext.snapshots import SnapshotError, SnapshotStore
from kale_ext.snapshots import objects as objects_module
from kale_ext.snapshots.chunking import SMALL
from kale_ext.store import Store

from .trees import tree


def small_workspace(root: Path, big: int = SMALL + (2 << 20)) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "b.txt").write_text("beta\n")
    (root / "big.bin").write_bytes(os.urandom(big))
    return root


def object_of(snaps: SnapshotStore, snapshot_id: str, path: str, index: int = 0) -> Path:
    row = (
        snaps._conn()
        .execute("SELECT chunks FROM snapshot_files WHERE snapshot_id = ? AND path = ?", (snapshot_id, path))
        .fetchone()
    )
    return Path(snaps.objects.path(json.loads(row["chunks"])[index]))


def consistent(snaps: SnapshotStore) -> None:
    """Every chunks row has its object file, every object file its row, and no temporary file is left."""
    rows = {r["hash"] for r in snaps._conn().execute("SELECT hash FROM chunks")}
    files = {name for name, _, _ in snaps.objects.walk()}
    assert files == rows


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_a_damaged_chunk_is_found_by_restore_and_by_verify(tmp_path, damage):
    snaps = SnapshotStore(Store(str(tmp_path / "store")))
    taken = snaps.take(str(small_workspace(tmp_path / "ws")))
    assert snaps.verify() == []
    victim = object_of(snaps, taken["snapshot_id"], "big.bin", 3)
    if damage == "flip":
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
    else:
        victim.unlink()
    out = tmp_path / "out"
    with pytest.raises(SnapshotError) as err:
        snaps.restore(taken["snapshot_id"], str(out))
    assert err.value.code == "snapshot.corrupt" and "big.bin" in err.value.message
    assert err.value.details["path"] == "big.bin"
    assert not (out / "big.bin").exists()  # never a silently wrong file
    assert not [p for p in out.rglob("*") if p.name.startswith(".kale-restore-")]
    damage_found = snaps.verify()
    problem = "content does not match its hash" if damage == "flip" else "missing"
    assert damage_found == [
        {
            "snapshot_id": taken["snapshot_id"],
            "path": "big.bin",
            "chunk": victim.parent.name + victim.name,
            "problem": problem,
        }
    ]


def test_a_truncated_small_object_is_damage_too(tmp_path):
    snaps = SnapshotStore(Store(str(tmp_path / "store")))
    taken = snaps.take(str(small_workspace(tmp_path / "ws")))
    victim = object_of(snaps, taken["snapshot_id"], "a.txt")
    victim.write_bytes(b"alp")
    assert [(d["path"], d["problem"]) for d in snaps.verify()] == [("a.txt", "size 3 instead of 6")]
    with pytest.raises(SnapshotError, match="a.txt"):
        snaps.restore(taken["snapshot_id"], str(tmp_path / "out"))


def test_disk_full_by_fault_injection_leaves_the_store_consistent(tmp_path, monkeypatch):
    snaps = SnapshotStore(Store(str(tmp_path / "store")))
    root = small_workspace(tmp_path / "ws")
    first = snaps.take(str(root))
    (root / "c.bin").write_bytes(os.urandom(SMALL + (3 << 20)))  # cut in ~20 chunks
    real_write = objects_module.Objects.write
    calls = []

    def failing(self, h, data):
        calls.append(h)
        if len(calls) > 4:
            raise objects_module.disk_full(self.store_folder, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
        real_write(self, h, data)

    monkeypatch.setattr(objects_module.Objects, "write", failing)
    with pytest.raises(SnapshotError) as err:
        snaps.take(str(root))
    assert err.value.code == "snapshot.disk_full"
    assert str(tmp_path / "store") in err.value.message and "KALE_EXT_HOME" in err.value.message
    assert [s["snapshot_id"] for s in snaps.list()] == [first["snapshot_id"]]  # no half-written snapshot
    consistent(snaps)  # the objects the failed take wrote are gone again
    monkeypatch.setattr(objects_module.Objects, "write", real_write)
    again = snaps.take(str(root))
    assert again["new_bytes"] == SMALL + (3 << 20) and snaps.verify() == []


def test_disk_full_for_real_on_a_small_tmpfs(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        snaps = SnapshotStore(Store(str(mount / "store")))
        root = small_workspace(tmp_path / "ws", big=4 << 20)  # twice the room the disk has
        with pytest.raises(SnapshotError) as err:
            snaps.take(str(root))
        assert err.value.code == "snapshot.disk_full" and str(mount / "store") in err.value.message
        assert snaps.list() == []
        consistent(snaps)
        (root / "big.bin").write_bytes(os.urandom(256 << 10))  # now it fits
        taken = snaps.take(str(root))
        snaps.restore(taken["snapshot_id"], str(tmp_path / "out"))
        assert tree(tmp_path / "out") == tree(root)
        snaps.store._conn().conn.close()  # the database is on the tmpfs: close it before unmounting
        del snaps.store._local.conn
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


TAKE = textwrap.dedent(
    """
    import json, os, sys, time
    from kale_ext.snapshots import SnapshotStore
    from kale_ext.store import Store
    snaps = SnapshotStore(Store(sys.argv[1]))
    open(sys.argv[3] + "." + str(os.getpid()), "w").close()
    while not os.path.exists(sys.argv[3]):  # both processes start taking at the same moment
        time.sleep(0.001)
    print(json.dumps(snaps.take(sys.argv[2])))
    """
)


def test_two_processes_snapshotting_one_workspace_at_once(tmp_path):
    root = small_workspace(tmp_path / "ws", big=24 << 20)
    store = str(tmp_path / "store")
    Store(store)  # created (and migrated) once, so both processes race on the snapshot only
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", TAKE, store, str(root), str(go)], stdout=subprocess.PIPE, env=env)
        for _ in range(2)
    ]
    while len(list(tmp_path.glob("go.*"))) < 2 and all(p.poll() is None for p in procs):
        time.sleep(0.01)
    go.touch()
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    snaps = SnapshotStore(Store(store))
    stored = snaps._conn().execute("SELECT sum(size) FROM chunks").fetchone()[0]
    assert sum(r["new_bytes"] for r in results) == stored  # shared chunks counted once
    assert stored == results[0]["bytes"]
    consistent(snaps)
    assert snaps.verify() == []
    for r in results:
        out = tmp_path / r["snapshot_id"]
        snaps.restore(r["snapshot_id"], str(out))
        assert tree(out) == tree(root)


def test_delete_and_sweep_keep_what_remaining_snapshots_need(tmp_path):
    snaps = SnapshotStore(Store(str(tmp_path / "store")))
    root = small_workspace(tmp_path / "ws")
    old = snaps.take(str(root))
    (root / "a.txt").write_text("changed\n")
    (root / "gone.bin").write_bytes(os.urandom(100_000))
    middle = snaps.take(str(root))
    (root / "gone.bin").unlink()
    kept = snaps.take(str(root))
    before = snaps.sizes()
    assert snaps.delete([old["snapshot_id"], middle["snapshot_id"], "snap-unknown"]) == 2
    swept = snaps.sweep()
    assert swept == {"chunks": 2, "bytes": len("alpha\n") + 100_000}  # old a.txt and gone.bin
    after = snaps.sizes()
    assert after["snapshot_objects"] == before["snapshot_objects"] - swept["bytes"]
    assert after["snapshots"] == 1 and after["snapshot_logical"] == kept["bytes"]
    consistent(snaps)
    snaps.restore(kept["snapshot_id"], str(tmp_path / "out"))
    assert tree(tmp_path / "out") == tree(root)
    assert snaps.sweep() == {"chunks": 0, "bytes": 0}


@pytest.mark.parametrize("size", [300_000, SMALL + 300_000])  # one object either way; the large one is streamed
def test_a_workspace_file_equal_to_a_run_artifact_is_stored_once(tmp_path, size):
    store = Store(str(tmp_path / "store"))
    payload = os.urandom(size)
    artifact = Path(store.runs_dir("r1")) / "train" / "model.pkl"
    artifact.parent.mkdir(parents=True)
    artifact.write_bytes(payload)
    store.create_run(run_id="r1", notebook="nb", pipeline="p", parameters={}, options={}, plan=[], metric_sources={})
    entry = {"name": "model", "path": str(artifact), "serializer": "pickle", "hash": file_hash(str(artifact))}
    store.record_artifacts("r1", "train", [{**entry, "size": size, "type": "builtins.bytes"}])
    store.update_run("r1", status="succeeded")
    root = tmp_path / "ws"
    root.mkdir()
    (root / "model.pkl").write_bytes(payload)
    (root / "other.bin").write_bytes(os.urandom(size))  # same size, other content: stored normally
    snaps = SnapshotStore(store)
    taken = snaps.take(str(root))
    assert taken["new_bytes"] == size  # other.bin only
    obj = object_of(snaps, taken["snapshot_id"], "model.pkl")
    assert os.stat(obj).st_ino == os.stat(artifact).st_ino
    assert snaps.sizes()["snapshot_linked"] == size
    out = tmp_path / "out"
    snaps.restore(taken["snapshot_id"], str(out))
    assert (out / "model.pkl").read_bytes() == payload and snaps.verify() == []
    with open(artifact, "r+b") as f:  # the artifact (and so the object) damaged on disk
        f.seek(size - 1)
        f.write(bytes([payload[-1] ^ 0xFF]))
    assert [(d["path"], d["problem"]) for d in snaps.verify()] == [("model.pkl", "content does not match its hash")]
    with pytest.raises(SnapshotError, match="model.pkl"):
        snaps.restore(taken["snapshot_id"], str(tmp_path / "out2"))
    assert not (tmp_path / "out2" / "model.pkl").exists()


def test_a_file_deleted_while_the_snapshot_runs_is_left_out_and_an_unreadable_one_named(tmp_path, monkeypatch):
    from kale_ext.snapshots import take as take_module

    root = small_workspace(tmp_path / "ws")
    snaps = SnapshotStore(Store(str(tmp_path / "store")))
    original = take_module.Taker._read_file

    def vanish(self, e, rec, artifacts):
        if e.path == "sub/b.txt":
            os.unlink(e.source)  # deleted between the scan and the read
        return original(self, e, rec, artifacts)

    monkeypatch.setattr(take_module.Taker, "_read_file", vanish)
    taken = snaps.take(str(root))
    assert {f["path"] for f in snaps.show(taken["snapshot_id"])["files"]} == {"a.txt", "big.bin"}
    assert taken["files"] == 2

    def unreadable(self, e, rec, artifacts):
        if e.path == "a.txt":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), e.source)
        return original(self, e, rec, artifacts)

    monkeypatch.setattr(take_module.Taker, "_read_file", unreadable)
    (root / "a.txt").write_text("changed, so read again\n")
    with pytest.raises(SnapshotError) as err:
        snaps.take(str(root))
    assert err.value.code == "snapshot.unreadable" and "a.txt" in err.value.message
    assert len(snaps.list()) == 1
    consistent(snaps)


def test_a_sweep_between_reading_and_committing_makes_the_take_start_over(tmp_path, monkeypatch):
    from kale_ext.snapshots import take as take_module

    root = small_workspace(tmp_path / "ws")
    snaps = SnapshotStore(Store(str(tmp_path / "store")))
    old = snaps.take(str(root))
    snaps.delete([old["snapshot_id"]])  # its chunks are now unreferenced: rows and files still there, until a sweep
    original = take_module.Taker._commit
    sweeps = []

    def commit_after_a_sweep(self, *args):
        if not sweeps:  # gc runs after this take found the objects stored, before it commits
            sweeps.append(snaps.sweep())
        return original(self, *args)

    monkeypatch.setattr(take_module.Taker, "_commit", commit_after_a_sweep)
    taken = snaps.take(str(root))
    assert sweeps[0]["chunks"] > 0  # the sweep did remove what the take had counted on
    assert taken["new_bytes"] == taken["bytes"]  # the second attempt wrote them again, and counted them
    consistent(snaps)
    assert snaps.verify() == []
    snaps.restore(taken["snapshot_id"], str(tmp_path / "out"))
    assert tree(tmp_path / "out") == tree(root)
