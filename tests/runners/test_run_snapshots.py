"""Every local run records a snapshot of its workspace before its first step (kale_ext.runners.workspace).

Real runs of a small pipeline in a real workspace: the snapshot's files, the unchanged second run that adds nothing,
the opt-outs at each tier, a resumed run keeping its original's snapshot, further paths, and a full disk (a real
tmpfs mounted as the store's object folder) failing the run with a clear message before any step starts.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess

import pytest

from kale_ext.runners.base import RunOptions
from kale_ext.runners.local import LocalRunner
from kale_ext.runners.workspace import WorkspaceSettingError
from kale_ext.snapshots import SnapshotStore
from kale_ext.store import Store

from .helpers import pipeline, step, write_notebook

READS_DATA = pipeline(
    step("load", "rows = open('data/values.csv').read().split()", index=1, outputs=["rows"]),
    step("total", "s = sum(int(r) for r in rows)", index=2, deps=["load"], inputs=["rows"]),
    metrics={"s": "total"},
)


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    (root / "data").mkdir(parents=True)
    (root / "data" / "values.csv").write_text("1\n2\n3\n")
    nb, _ = write_notebook(root / "nb.ipynb")
    return root, nb


@pytest.fixture
def runner(ws):
    r = LocalRunner(Store(str(ws[0] / ".kale")))
    yield r
    r.close()


def run(runner, nb, p=READS_DATA, options=None):
    return runner.wait(runner.start(p, nb, options))


def with_settings(**workspace):
    return dataclasses.replace(READS_DATA, settings={"workspace": workspace})


def test_every_run_records_its_workspace_and_an_unchanged_second_run_adds_nothing(runner, ws):
    root, nb = ws
    first = run(runner, nb)
    assert first["status"] == "succeeded" and first["metrics"] == {"s": 6}
    snaps = SnapshotStore(runner.store)
    shown = snaps.show(first["snapshot_id"])
    assert shown["root"] == str(root) and shown["run_ids"] == [first["run_id"]]
    assert {f["path"] for f in shown["files"]} == {"nb.ipynb", "data/values.csv"}  # the store is never in it
    assert shown["new_bytes"] == shown["bytes"] > 0
    assert first["started"] <= shown["created"] <= min(s["started"] for s in first["steps"])  # before the first step
    second = run(runner, nb)
    assert second["snapshot_id"] != first["snapshot_id"]
    newest = snaps.list()[0]
    assert newest["snapshot_id"] == second["snapshot_id"] and newest["new_bytes"] == 0
    assert newest["files"] == shown["files"].__len__() and newest["bytes"] == shown["bytes"]
    assert runner.store.list_runs()[0]["snapshot_id"] == second["snapshot_id"]


def test_the_snapshot_is_what_the_steps_saw_even_when_a_step_rewrites_the_data(runner, ws):
    root, nb = ws
    p = pipeline(
        step("load", "rows = open('data/values.csv').read().split()", index=1, outputs=["rows"]),
        step(
            "rewrite",
            "open('data/values.csv', 'w').write('100\\n')\nn = len(rows)",
            index=2,
            deps=["load"],
            inputs=["rows"],
        ),
        metrics={"n": "rewrite"},
    )
    done = run(runner, nb, p)
    assert done["status"] == "succeeded" and (root / "data" / "values.csv").read_text() == "100\n"
    out = root.parent / "restored"
    SnapshotStore(runner.store).restore(done["snapshot_id"], str(out))
    assert (out / "data" / "values.csv").read_text() == "1\n2\n3\n"


def test_opt_outs_run_notebook_and_runner(ws, runner, monkeypatch):
    root, nb = ws
    assert run(runner, nb, options=RunOptions(snapshot=False))["snapshot_id"] is None
    assert run(runner, nb, with_settings(snapshot=False))["snapshot_id"] is None
    off = LocalRunner(runner.store, snapshots=False)
    try:
        assert run(off, nb)["snapshot_id"] is None
    finally:
        off.close()
    monkeypatch.setenv("KALE_EXT_SNAPSHOTS", "0")
    assert LocalRunner(runner.store).snapshots is False
    monkeypatch.setenv("KALE_EXT_SNAPSHOTS", "1")
    assert LocalRunner(runner.store).snapshots is True
    assert SnapshotStore(runner.store).list() == []


def test_further_paths_are_in_the_snapshot_and_bad_settings_refuse_the_run(ws, runner, tmp_path):
    root, nb = ws
    extra = tmp_path / "shared"
    extra.mkdir()
    (extra / "lookup.txt").write_text("x")
    done = run(runner, nb, with_settings(paths=["../shared"]))
    files = {f["path"] for f in SnapshotStore(runner.store).show(done["snapshot_id"])["files"]}
    assert any(f.endswith("shared/lookup.txt") for f in files) and "data/values.csv" in files
    for bad in ({"paths": "data"}, {"paths": [""]}, {"snapshot": "no"}):
        with pytest.raises(WorkspaceSettingError) as err:
            runner.start(with_settings(**bad), nb)
        assert "kale_ext.workspace" in err.value.message
    missing = run(runner, nb, with_settings(paths=["../nowhere"]))
    assert missing["status"] == "failed" and "workspace snapshot failed" in missing["error"]
    assert all(s["status"] == "cancelled" and s["started"] is None for s in missing["steps"])


def test_a_resumed_run_keeps_its_original_snapshot(ws, runner):
    root, nb = ws
    p = pipeline(
        step("load", "rows = open('data/values.csv').read().split()", index=1, outputs=["rows"]),
        step("check", "import os\nassert os.path.exists('ok'), 'not yet'", index=2, deps=["load"], inputs=["rows"]),
    )
    failed = run(runner, nb, p)
    assert failed["status"] == "failed" and failed["snapshot_id"]
    (root / "ok").write_text("")
    resumed = runner.wait(runner.resume(failed["run_id"]))
    assert resumed["status"] == "succeeded" and resumed["snapshot_id"] == failed["snapshot_id"]
    assert len(SnapshotStore(runner.store).list()) == 1


def test_a_full_disk_fails_the_run_before_any_step_and_the_store_stays_consistent(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(4 << 20))  # twice the room of the object folder
    (root / "data").mkdir()
    (root / "data" / "values.csv").write_text("4\n")
    nb, _ = write_notebook(root / "nb.ipynb")
    objects = root / ".kale" / "objects"
    objects.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(objects)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        store = Store(str(root / ".kale"))
        runner = LocalRunner(store)
        try:
            failed = run(runner, nb)
            assert failed["status"] == "failed" and failed["snapshot_id"] is None
            assert failed["error"].startswith("The workspace snapshot failed, so no step ran:")
            assert "disk" in failed["error"].lower() or "space" in failed["error"].lower()
            assert all(s["status"] == "cancelled" and s["started"] is None for s in failed["steps"])
            snaps = SnapshotStore(store)
            assert snaps.list() == [] and snaps.verify() == []
            assert {r["hash"] for r in store._conn().execute("SELECT hash FROM chunks")} == {
                name for name, _, _ in snaps.objects.walk()
            }
            (root / "big.bin").write_bytes(os.urandom(256 << 10))  # now it fits
            ok = run(runner, nb)
            assert ok["status"] == "succeeded" and ok["snapshot_id"] and ok["metrics"] == {"s": 4}
        finally:
            runner.close()
    finally:
        subprocess.run(["umount", "--lazy", str(objects)], check=True)


def test_two_runs_snapshotting_one_workspace_at_once_share_their_chunks(ws, runner):
    root, nb = ws
    (root / "data" / "big.bin").write_bytes(os.urandom(3 << 20))
    ids = [runner.start(READS_DATA, nb, RunOptions(use_cache=False)) for _ in range(2)]  # two driver threads
    runs = [runner.wait(i) for i in ids]
    assert all(r["status"] == "succeeded" and r["metrics"] == {"s": 6} for r in runs)
    snaps = SnapshotStore(runner.store)
    entries = snaps.list()
    assert {e["snapshot_id"] for e in entries} == {r["snapshot_id"] for r in runs}
    assert snaps.verify() == []
    stored = sum(st.st_size for _, _, st in snaps.objects.walk())
    assert sum(e["new_bytes"] for e in entries) == stored  # each chunk counted once, by the one that stored it
    assert all(e["bytes"] == entries[0]["bytes"] for e in entries)
