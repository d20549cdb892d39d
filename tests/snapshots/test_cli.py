"""`kale-ext snapshots|runs reproduce|gc|store` as users run them: real processes on real workspaces, exit codes,
JSON shapes, figures read back from the store, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kale_ext.snapshots import SnapshotStore
from kale_ext.store import Store
from tests.cli.test_cli import assert_one_line_usage_error
from tests.notebooks import write_notebook

from .trees import tree

REPO = Path(__file__).resolve().parents[2]
LIST_KEYS = {"snapshot_id", "run_ids", "created", "files", "bytes", "new_bytes"}


def kale(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("KALE_EXT_HOME", "KALE_EXT_SNAPSHOTS")}
    return subprocess.run(
        [sys.executable, "-m", "kale_ext", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def ok_json(*args: str, cwd: Path, code: int = 0):
    done = kale(*args, "--json", cwd=cwd)
    assert done.returncode == code, done.stderr
    return json.loads(done.stdout)


def run_nb(notebook: str, *args: str, cwd: Path):
    """`kale-ext run --json`, then the run as `runs show --json` gives it (with its snapshot_id)."""
    out = ok_json("run", notebook, *args, cwd=cwd)
    assert "snapshot_id" not in out  # run --json keeps its documented keys
    return ok_json("runs", "show", out["run_id"], cwd=cwd)


def csv_workspace(root: Path) -> Path:
    """A notebook whose metric depends on a data file of its folder."""
    (root / "data").mkdir(parents=True)
    (root / "data" / "values.csv").write_text("1\n2\n3\n")
    write_notebook(
        root / "sums.ipynb",
        (["imports"], "import statistics"),
        (["pipeline-parameters"], "SCALE = 2"),
        (["step:load"], "values = [int(v) for v in open('data/values.csv').read().split()]"),
        (["step:total", "prev:load"], "total = SCALE * sum(values)\nmean = statistics.mean(values)"),
        (["pipeline-metrics"], "print(total)\nprint(mean)"),
    )
    return root


@pytest.fixture
def ws(tmp_path):
    return csv_workspace(tmp_path / "ws")


def test_runs_record_snapshots_list_show_diff_and_restore_byte_for_byte(ws, tmp_path):
    first = run_nb("sums.ipynb", cwd=ws)
    assert first["metrics"] == {"total": 12, "mean": 2}
    assert isinstance(first["snapshot_id"], str) and first["snapshot_id"]  # from runs show --json
    assert ok_json("runs", "list", cwd=ws)[0]["snapshot_id"] == first["snapshot_id"]
    second = run_nb("sums.ipynb", cwd=ws)
    listed = ok_json("snapshots", "list", cwd=ws)
    assert [e["snapshot_id"] for e in listed] == [second["snapshot_id"], first["snapshot_id"]]
    assert all(LIST_KEYS <= set(e) for e in listed)
    assert listed[0]["new_bytes"] == 0 and listed[1]["new_bytes"] == listed[1]["bytes"] > 0
    assert listed[1]["run_ids"] == [first["run_id"]] and listed[0]["files"] == listed[1]["files"] == 2
    assert ok_json("snapshots", "list", "--notebook", "sums.ipynb", cwd=ws) == listed
    shown = ok_json("snapshots", "show", first["snapshot_id"], cwd=ws)
    sizes = {f["path"]: f["size"] for f in shown["files"]}
    assert sizes == {p: os.path.getsize(ws / p) for p in ("sums.ipynb", "data/values.csv")}

    (ws / "data" / "values.csv").write_text("10\n20\n")
    (ws / "notes.txt").write_text("new\n")
    diff = ok_json("snapshots", "diff", first["snapshot_id"], "--workspace", cwd=ws)
    assert diff == {"added": ["notes.txt"], "removed": [], "changed": ["data/values.csv"]}
    assert ok_json("snapshots", "diff", first["snapshot_id"], second["snapshot_id"], cwd=ws) == {
        "added": [],
        "removed": [],
        "changed": [],
    }
    (ws / "data" / "values.csv").write_text("7\n")
    third = run_nb("sums.ipynb", cwd=ws)
    assert ok_json("snapshots", "diff", third["snapshot_id"], cwd=ws) == {  # since the one before it
        "added": ["notes.txt"],
        "removed": [],
        "changed": ["data/values.csv"],
    }
    restored = ok_json("snapshots", "restore", first["snapshot_id"], "--to", str(tmp_path / "out"), cwd=ws)
    assert restored["files"] == 2 and restored["folder"] == str(tmp_path / "out")
    assert (tmp_path / "out" / "data" / "values.csv").read_text() == "1\n2\n3\n"
    assert tree(tmp_path / "out")["sums.ipynb"] == tree(ws)["sums.ipynb"]


def test_restore_never_over_the_live_workspace_unless_forced(ws):
    run = run_nb("sums.ipynb", cwd=ws)
    (ws / "data" / "values.csv").write_text("edited\n")
    refused = kale("snapshots", "restore", run["snapshot_id"], "--to", str(ws), cwd=ws)
    assert_one_line_usage_error(refused)
    assert "own workspace" in refused.stderr and (ws / "data" / "values.csv").read_text() == "edited\n"
    forced = ok_json("snapshots", "restore", run["snapshot_id"], "--to", str(ws), "--force", cwd=ws)
    assert forced["files"] == 2 and (ws / "data" / "values.csv").read_text() == "1\n2\n3\n"


def test_reproduce_the_real_example_matches(tmp_path):
    ws = tmp_path / "wine"
    ws.mkdir()
    shutil.copy(REPO / "examples" / "wine_classification.ipynb", ws)
    run = run_nb("wine_classification.ipynb", cwd=ws)
    assert run["status"] == "succeeded" and run["metrics"]
    (ws / "wine_classification.ipynb").write_text("{}")  # the live notebook is gone: the snapshot has it
    out = ok_json("runs", "reproduce", run["run_id"], cwd=ws)
    assert set(out) >= {"run_id", "original_run_id", "folder", "metrics_match", "differences"}
    assert out["metrics_match"] is True and out["differences"] == [] and out["original_run_id"] == run["run_id"]
    assert out["folder"].startswith(str(ws / ".kale" / "reproductions"))
    reproduced = ok_json("runs", "show", out["run_id"], cwd=ws)
    assert reproduced["metrics"] == run["metrics"] and reproduced["options"]["use_cache"] is False
    assert all(s["status"] == "succeeded" for s in reproduced["steps"])  # rerun, not taken from the cache
    assert json.loads((Path(out["folder"]) / "wine_classification.ipynb").read_text())["cells"]


def test_reproduce_uses_the_snapshot_after_the_live_data_changed_and_reports_a_difference(ws, tmp_path):
    first = run_nb("sums.ipynb", cwd=ws)
    (ws / "data" / "values.csv").write_text("100\n")  # the user edits the live workspace
    # (the step cache is keyed on code, parameters and inputs, not on the files the code opens: hence --no-cache)
    assert run_nb("sums.ipynb", "--no-cache", cwd=ws)["metrics"] == {"total": 200, "mean": 100}
    target = tmp_path / "again"
    out = ok_json("runs", "reproduce", first["run_id"], "--to", str(target), cwd=ws)
    assert out["metrics_match"] is True and out["folder"] == str(target)
    assert (target / "data" / "values.csv").read_text() == "1\n2\n3\n"

    with sqlite3.connect(ws / ".kale" / "kale.db") as db:  # the record says the run measured something else
        db.execute("UPDATE metrics SET value = '13' WHERE run_id = ? AND name = 'total'", (first["run_id"],))
    differ = ok_json("runs", "reproduce", first["run_id"], cwd=ws, code=1)
    assert differ["metrics_match"] is False
    assert differ["differences"] == [{"metric": "total", "original": 13, "reproduced": 12}]


def store_info(ws: Path):
    return ok_json("store", "info", cwd=ws)


def test_gc_keeps_what_kept_runs_need_and_frees_what_only_deleted_runs_had(ws, tmp_path):
    runs = []
    for content in ("1\n", "2\n" * 5000, "3\n" * 7000):  # each run's snapshot has its own data chunk
        (ws / "data" / "values.csv").write_text(content)
        runs.append(run_nb("sums.ipynb", "--no-cache", cwd=ws))
    before = store_info(ws)
    dry = ok_json("gc", "--keep-last", "1", "--dry-run", cwd=ws)
    assert dry["dry_run"] is True and dry["deleted_runs"] == [runs[1]["run_id"], runs[0]["run_id"]]
    assert dry["snapshots"] == sorted([runs[0]["snapshot_id"], runs[1]["snapshot_id"]])
    assert dry["freed"]["chunks"] >= 2 and dry["freed"]["chunk_bytes"] >= len("2\n" * 5000) + 2
    after_dry = store_info(ws)
    assert (
        after_dry["counts"] == before["counts"]
        and after_dry["categories"]["runs/artifacts"] == before["categories"]["runs/artifacts"]
    )
    assert after_dry["categories"]["objects/snapshots"] == before["categories"]["objects/snapshots"]

    done = ok_json("gc", "--keep-last", "1", cwd=ws)
    assert done["deleted_runs"] == dry["deleted_runs"] and done["freed"] == dry["freed"]
    after = store_info(ws)
    assert after["counts"]["runs"] == 1 and after["counts"]["snapshots"] == 1
    freed_objects = (
        before["categories"]["objects/snapshots"]["bytes"] - after["categories"]["objects/snapshots"]["bytes"]
    )
    assert freed_objects == done["freed"]["chunk_bytes"]
    freed_runs = (
        before["categories"]["runs/artifacts"]["bytes"]
        + before["categories"]["logs"]["bytes"]
        - (after["categories"]["runs/artifacts"]["bytes"] + after["categories"]["logs"]["bytes"])
    )
    assert freed_runs == done["freed"]["runs_bytes"] > 0
    for gone in runs[:2]:
        assert_one_line_usage_error(kale("runs", "show", gone["run_id"], cwd=ws))
    kept = runs[2]
    out = ok_json("snapshots", "restore", kept["snapshot_id"], "--to", str(tmp_path / "kept"), cwd=ws)
    assert out["files"] == 2 and (tmp_path / "kept" / "data" / "values.csv").read_text() == "3\n" * 7000
    assert ok_json("store", "verify", cwd=ws)["healthy"] is True
    assert ok_json("runs", "reproduce", kept["run_id"], cwd=ws)["metrics_match"] is True


def test_store_info_figures_add_up_and_verify_finds_a_flipped_byte(ws):
    run = run_nb("sums.ipynb", cwd=ws)
    info = store_info(ws)
    cats = info["categories"]
    assert set(cats) == {"database", "runs/artifacts", "logs", "objects/snapshots", "other"}
    assert sum(c["bytes"] for c in cats.values()) == info["total"]["bytes"]
    assert sum(c["files"] for c in cats.values()) == info["total"]["files"]
    # every file but the database's (whose WAL files come and go with connections), each inode once: as on disk
    on_disk = {
        (st.st_ino, st.st_size)
        for p in (ws / ".kale").rglob("*")
        if p.is_file() and not p.is_symlink() and not p.name.startswith("kale.db")
        for st in [p.lstat()]
    }
    assert sum(c["bytes"] for n, c in cats.items() if n != "database") == sum(size for _, size in on_disk)
    assert sum(c["files"] for n, c in cats.items() if n != "database") == len(on_disk)
    assert info["counts"]["runs"] == 1 and info["counts"]["snapshots"] == 1
    assert cats["objects/snapshots"]["bytes"] == info["snapshot_store"]["snapshot_objects"] > 0
    report = ok_json("store", "verify", cwd=ws)
    checked = info["counts"]["artifacts"]
    assert report == {"healthy": True, "snapshots": [], "artifacts": [], "artifacts_checked": checked} and checked >= 2

    snaps = SnapshotStore(Store(str(ws / ".kale")))
    chunk = json.loads(
        snaps._conn()
        .execute(
            "SELECT chunks FROM snapshot_files WHERE path = 'data/values.csv' AND snapshot_id = ?",
            (run["snapshot_id"],),
        )
        .fetchone()[0]
    )[0]
    obj = Path(snaps.objects.path(chunk))
    data = bytearray(obj.read_bytes())
    data[0] ^= 0x01
    obj.chmod(0o644)
    obj.write_bytes(bytes(data))
    damaged = ok_json("store", "verify", cwd=ws, code=1)
    assert damaged["healthy"] is False and damaged["artifacts"] == []
    assert [(d["snapshot_id"], d["path"]) for d in damaged["snapshots"]] == [(run["snapshot_id"], "data/values.csv")]
    text = kale("store", "verify", cwd=ws)
    assert text.returncode == 1 and "data/values.csv" in text.stdout and "DAMAGED" in text.stderr
    restore = kale("snapshots", "restore", run["snapshot_id"], "--to", str(ws.parent / "bad"), cwd=ws)
    assert_one_line_usage_error(restore)
    assert "data/values.csv" in restore.stderr


def test_every_unusable_input_exits_2_with_one_line(ws, tmp_path):
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    assert_one_line_usage_error(kale("store", "info", cwd=empty))
    assert_one_line_usage_error(kale("snapshots", "list", cwd=empty))
    run = run_nb("sums.ipynb", cwd=ws)
    bare = run_nb("sums.ipynb", "--no-snapshot", cwd=ws)
    assert bare["snapshot_id"] is None
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("")
    for args in (
        ["snapshots", "show", "snap-unknown"],
        ["snapshots", "restore", "snap-unknown", "--to", str(tmp_path / "o")],
        ["snapshots", "restore", run["snapshot_id"], "--to", str(full)],
        ["snapshots", "restore", run["snapshot_id"]],
        ["snapshots", "diff", run["snapshot_id"], run["snapshot_id"], "--workspace"],
        ["runs", "reproduce", "20990101-000000-abcdef"],
        ["runs", "reproduce", bare["run_id"]],
        ["runs", "reproduce", run["run_id"], "--to", str(full)],
        ["gc"],
        ["gc", "--keep-last", "-1"],
        ["gc", "--older-than", "soon"],
    ):
        done = kale(*args, cwd=ws)
        assert_one_line_usage_error(done)
    assert (full / "x").read_text() == "" and sorted(os.listdir(full)) == ["x"]
    assert ok_json("store", "info", cwd=ws)["counts"]["runs"] == 2  # nothing above changed the store
