"""The REST run shapes carry the run's workspace snapshot (jp_fetch, authentication on)."""

from __future__ import annotations

import json

import pytest

from kale_ext.snapshots import SnapshotStore
from kale_ext.store import Store

from .test_runs import NOTEBOOK, fetch_json, wait_done


@pytest.fixture(autouse=True)
def _stores_beside_the_notebooks(monkeypatch):
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)
    monkeypatch.delenv("KALE_EXT_SNAPSHOTS", raising=False)


async def test_a_run_started_over_rest_records_its_workspace(jp_fetch, jp_root_dir):
    (jp_root_dir / "sub").mkdir()
    (jp_root_dir / "sub" / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    (jp_root_dir / "sub" / "input.csv").write_text("a,b\n")
    created = await fetch_json(jp_fetch, "runs", method="POST", body=json.dumps({"path": "sub/nb.ipynb"}))
    run = await wait_done(jp_fetch, created["run_id"])
    assert run["status"] == "succeeded" and run["snapshot_id"]
    listing = await fetch_json(jp_fetch, "runs", params={"notebook": "sub/nb.ipynb"})
    assert [r["snapshot_id"] for r in listing["runs"]] == [run["snapshot_id"]]
    shown = SnapshotStore(Store(str(jp_root_dir / "sub" / ".kale"))).show(run["snapshot_id"])
    assert {f["path"] for f in shown["files"]} == {"nb.ipynb", "input.csv"}
    assert shown["run_ids"] == [run["run_id"]]
