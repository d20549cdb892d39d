"""Snapshots of real workspaces: take, list, show, diff and restore byte for byte; dedup and incremental figures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kale_ext.snapshots import SnapshotError, SnapshotStore
from kale_ext.snapshots import take as take_module
from kale_ext.store import Store

from .trees import make_workspace, tree


@pytest.fixture
def ws(tmp_path):
    root = make_workspace(tmp_path / "ws")
    yield root
    (root / "data" / "readonly").chmod(0o755)  # so that tmp_path can be removed


@pytest.fixture
def snaps(ws):
    return SnapshotStore(Store(str(ws / ".kale")))  # the default layout: the store inside the workspace


@pytest.fixture
def trusted_stat(monkeypatch):
    """Files written just now are trusted by the stat fast path (normally they are re-read for RACY_NS)."""
    monkeypatch.setattr(take_module, "RACY_NS", 0)


def chunk_files(store_folder: Path) -> list[Path]:
    return [p for p in (store_folder / "objects").rglob("*") if p.is_file()]


def test_restore_reproduces_the_workspace_byte_for_byte(ws, snaps, tmp_path):
    taken = snaps.take(str(ws), notebook=str(ws / "notebook.ipynb"))
    out = tmp_path / "restored"
    result = snaps.restore(taken["snapshot_id"], str(out))
    assert result == {
        "snapshot_id": taken["snapshot_id"],
        "folder": str(out),
        "files": taken["files"],
        "bytes": taken["bytes"],
    }
    original, restored = tree(ws), tree(out)
    assert ".kale" not in restored and restored == original  # contents, modes, mtimes, links (dangling too)
    assert restored["link-to-folder"] == ("link", "data/raw") and restored["empty-folder"][0] == "dir"
    assert restored["data/readonly"] == ("dir", 0o555)
    (out / "data" / "readonly").chmod(0o755)


def test_list_and_show_give_the_contract_fields(ws, snaps):
    nb = str(ws / "notebook.ipynb")
    taken = snaps.take(str(ws), notebook=nb)
    files = [p for p, v in tree(ws).items() if v[0] != "dir"]
    assert taken["files"] == len(files)
    assert taken["bytes"] == sum(os.path.getsize(ws / p) for p, v in tree(ws).items() if v[0] == "file")
    assert taken["new_bytes"] == taken["bytes"]  # a fresh store: everything is new (no two files are equal here)
    store = snaps.store
    store.create_run(run_id="r1", notebook=nb, pipeline="p", parameters={}, options={}, plan=[], metric_sources={})
    store.update_run("r1", snapshot_id=taken["snapshot_id"])
    listed = snaps.list(nb)
    assert [e["snapshot_id"] for e in listed] == [taken["snapshot_id"]] and listed[0]["run_ids"] == ["r1"]
    assert set(listed[0]) >= {"snapshot_id", "run_ids", "created", "files", "bytes", "new_bytes"}
    assert snaps.list(str(ws / "other.ipynb")) == []
    shown = snaps.show(taken["snapshot_id"][:-2])  # a unique prefix names it too
    assert shown["snapshot_id"] == taken["snapshot_id"] and shown["run_ids"] == ["r1"]
    by_path = {f["path"]: f for f in shown["files"]}
    assert sorted(by_path) == sorted(files)
    assert by_path["secret.txt"]["mode"] == 0o600 and by_path["empty.txt"]["size"] == 0
    assert by_path["dangling"] == {**by_path["dangling"], "kind": "link", "target": "does/not/exist"}
    assert store.run_row("r1")["snapshot_id"] == taken["snapshot_id"]


def test_an_unchanged_second_snapshot_stores_nothing_and_reads_nothing(ws, snaps, trusted_stat, monkeypatch):
    first = snaps.take(str(ws))
    objects_before = sorted(chunk_files(ws / ".kale"))
    reads = []
    original = take_module.Taker._ingest_file
    monkeypatch.setattr(
        take_module.Taker, "_ingest_file", lambda self, *a: reads.append(a[0].path) or original(self, *a)
    )
    second = snaps.take(str(ws))
    assert second["new_bytes"] == 0 and reads == []
    assert (second["files"], second["bytes"]) == (first["files"], first["bytes"])
    assert sorted(chunk_files(ws / ".kale")) == objects_before
    assert snaps.diff(first["snapshot_id"], second["snapshot_id"]) == {"added": [], "removed": [], "changed": []}


def test_a_recently_changed_file_is_read_again_next_time(ws, snaps, monkeypatch):
    snaps.take(str(ws))  # everything was just written: within RACY_NS, so not trusted by stat next time
    reads = []
    original = take_module.Taker._ingest_file
    monkeypatch.setattr(
        take_module.Taker, "_ingest_file", lambda self, *a: reads.append(a[0].path) or original(self, *a)
    )
    again = snaps.take(str(ws))
    assert "data/big.bin" in reads and again["new_bytes"] == 0  # read again, found stored already


def test_one_mb_changed_inside_a_64_mb_file_stores_under_3_mb(tmp_path, trusted_stat):
    root = tmp_path / "ws"
    root.mkdir()
    big = root / "model.bin"
    big.write_bytes(os.urandom(64 << 20))
    snaps = SnapshotStore(Store(str(tmp_path / "store")))
    first = snaps.take(str(root))
    assert first["new_bytes"] == 64 << 20
    with open(big, "r+b") as f:
        f.seek(20 << 20)
        f.write(os.urandom(1 << 20))
    second = snaps.take(str(root))
    assert 1 << 20 <= second["new_bytes"] < 3 << 20
    stored = snaps.store._conn().execute("SELECT sum(size) FROM chunks").fetchone()[0]
    assert stored == first["new_bytes"] + second["new_bytes"]  # the figures are the store's, not estimates
    out = tmp_path / "out"
    snaps.restore(second["snapshot_id"], str(out))
    assert (out / "model.bin").read_bytes() == big.read_bytes()


def test_diff_between_snapshots_and_against_the_workspace(ws, snaps, trusted_stat):
    a = snaps.take(str(ws))
    (ws / "notebook.ipynb").write_text('{"cells": [1]}\n')
    (ws / "empty.txt").unlink()
    (ws / "data" / "new.txt").write_text("new\n")
    (ws / "run.sh").chmod(0o700)
    os.unlink(ws / "dangling")
    os.symlink("elsewhere", ws / "dangling")
    expected = {
        "added": ["data/new.txt"],
        "removed": ["empty.txt"],
        "changed": ["dangling", "notebook.ipynb", "run.sh"],
    }
    assert snaps.diff(a["snapshot_id"], workspace=True) == expected
    b = snaps.take(str(ws))
    assert snaps.diff(a["snapshot_id"], b["snapshot_id"]) == expected
    assert snaps.diff(b["snapshot_id"]) == expected  # one snapshot: against the one of the same root before it
    assert snaps.diff(b["snapshot_id"], workspace=True) == {"added": [], "removed": [], "changed": []}
    assert snaps.diff(a["snapshot_id"])["added"] == sorted(p for p, v in tree_of(snaps, a).items())


def tree_of(snaps, entry):
    return {f["path"]: f for f in snaps.show(entry["snapshot_id"])["files"]}


def test_kaleignore_and_the_store_folder_are_skipped(tmp_path):
    root = tmp_path / "ws"
    (root / "logs").mkdir(parents=True)
    (root / "keep").mkdir()
    (root / "logs" / "a.log").write_text("x")
    (root / "keep" / "b.log").write_text("x")
    (root / "keep" / "c.tmp").write_text("x")
    (root / "main.py").write_text("x")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / ".kaleignore").write_text("# comments and blank lines\n\nlogs/\n*.log\n!keep/b.log\n*.tmp\n")
    Store(str(root / "keep" / "old-store"))  # another store in the workspace (made before KALE_EXT_HOME moved it)
    snaps = SnapshotStore(Store(str(root / ".kale")))
    taken = snaps.take(str(root))
    paths = {f["path"] for f in snaps.show(taken["snapshot_id"])["files"]}
    assert paths == {".kaleignore", "main.py", "keep/b.log", ".git/HEAD"}
    elsewhere = SnapshotStore(Store(str(tmp_path / "home")))  # the store outside: the workspace's .kale is skipped too
    assert {f["path"] for f in elsewhere.show(elsewhere.take(str(root))["snapshot_id"])["files"]} == paths


def test_further_paths_outside_the_root_are_restored_inside_the_target(tmp_path):
    root, data = tmp_path / "ws", tmp_path / "shared-data"
    root.mkdir()
    data.mkdir()
    (root / "nb.ipynb").write_text("{}")
    (data / "train.csv").write_text("x,y\n")
    (root / "ignored").mkdir()
    (root / "ignored" / "needed.txt").write_text("named explicitly\n")
    (root / ".kaleignore").write_text("ignored/\n")
    snaps = SnapshotStore(Store(str(tmp_path / "store")))
    taken = snaps.take(str(root), paths=[str(data), "ignored/needed.txt"])
    out = tmp_path / "out"
    snaps.restore(taken["snapshot_id"], str(out))
    external = out / ".kale-external" / str(data).lstrip("/") / "train.csv"
    assert external.read_text() == "x,y\n" and (out / "ignored" / "needed.txt").read_text() == "named explicitly\n"
    assert snaps.diff(taken["snapshot_id"], workspace=True) == {"added": [], "removed": [], "changed": []}
    with pytest.raises(SnapshotError) as err:
        snaps.take(str(root), paths=[str(tmp_path / "nowhere")])
    assert err.value.code == "snapshot.workspace_missing"


def test_bad_input_errors(ws, snaps, tmp_path):
    taken = snaps.take(str(ws))
    for call in (
        lambda: snaps.show("snap-nope"),
        lambda: snaps.restore("nope", str(tmp_path / "x")),
        lambda: snaps.diff(""),
    ):
        with pytest.raises(SnapshotError) as err:
            call()
        assert err.value.code == "snapshot.not_found" and err.value.status == 400
    with pytest.raises(SnapshotError) as err:
        snaps.restore(taken["snapshot_id"], str(ws))  # the live workspace is not empty
    assert err.value.code == "snapshot.target_not_empty" and str(ws) in err.value.message
    with pytest.raises(SnapshotError) as err:
        snaps.take(str(tmp_path / "missing"))
    assert err.value.code == "snapshot.workspace_missing"


def test_force_restores_over_the_live_workspace(ws, snaps, trusted_stat):
    taken = snaps.take(str(ws))
    before = tree(ws)
    (ws / "notebook.ipynb").write_text("edited")
    (ws / "empty.txt").unlink()
    (ws / "extra.txt").write_text("not in the snapshot")
    snaps.restore(taken["snapshot_id"], str(ws), force=True)
    after = tree(ws)
    assert after.pop("extra.txt")[2] == b"not in the snapshot"  # other files are left alone
    assert after == before
    assert snaps.diff(taken["snapshot_id"], workspace=True)["added"] == ["extra.txt"]
