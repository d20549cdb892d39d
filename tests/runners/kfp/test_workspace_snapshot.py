"""A Kubeflow Pipelines submission records a snapshot of the notebook's workspace first (loopback fake KFP API)."""

from __future__ import annotations

import json

import pytest

from kale_ext.runners.base import RunOptions
from kale_ext.runners.kfp.client import KfpApiError
from kale_ext.snapshots import SnapshotError, SnapshotStore

from .test_runner import pipeline_of

pytest.importorskip("yaml")


def test_the_workspace_is_snapshotted_before_the_submission(fake_kfp, make_runner, small_nb, tmp_path):
    (tmp_path / "data.csv").write_text("1,2\n")
    runner = make_runner()
    run = runner.wait(runner.start(pipeline_of(small_nb), small_nb), 20)
    assert run["status"] == "succeeded" and run["snapshot_id"]
    shown = SnapshotStore(runner.store_for(small_nb)).show(run["snapshot_id"])
    assert shown["run_ids"] == [run["run_id"]] and shown["root"] == str(tmp_path)
    assert {"small.ipynb", "data.csv"} <= {f["path"] for f in shown["files"]}
    bare = runner.wait(runner.start(pipeline_of(small_nb), small_nb, RunOptions(snapshot=False)), 20)
    assert bare["snapshot_id"] is None and len(fake_kfp.calls("POST", "/apis/v2beta1/runs")) == 2


def test_a_snapshot_that_fails_submits_nothing(fake_kfp, make_runner, small_nb):
    nb = json.load(open(small_nb))
    nb["metadata"]["kale_ext"] = {"workspace": {"paths": ["../not-there"]}}
    with open(small_nb, "w") as f:
        json.dump(nb, f)
    runner = make_runner()
    with pytest.raises(SnapshotError) as err:
        runner.start(pipeline_of(small_nb), small_nb)
    assert err.value.code == "snapshot.workspace_missing"
    assert fake_kfp.calls("POST", "/apis/v2beta1/runs") == [] and fake_kfp.versions == []
    assert runner.list_runs() == []


def test_a_submission_that_fails_leaves_no_workspace_snapshot(fake_kfp, make_runner, small_nb, monkeypatch):
    runner = make_runner()

    def refuse(*args, **kwargs):
        raise KfpApiError("the KFP API refused the run", code="kfp.api")

    monkeypatch.setattr(runner, "_submit", refuse)
    with pytest.raises(KfpApiError):
        runner.start(pipeline_of(small_nb), small_nb)
    assert SnapshotStore(runner.store_for(small_nb)).list() == [] and runner.list_runs() == []
    monkeypatch.undo()
    run = runner.wait(runner.start(pipeline_of(small_nb), small_nb), 20)
    assert [s["run_ids"] for s in SnapshotStore(runner.store_for(small_nb)).list()] == [[run["run_id"]]]
