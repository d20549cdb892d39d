"""The MLMD export, parsed strictly by the real ml-metadata 1.17.1 proto messages (json_format.Parse into
metadata_store_pb2.LineageGraph) and loaded into a real MLMD store (SQLite), then read back through MLMD's own
queries: contexts, executions with their states and properties, artifacts, INPUT/OUTPUT events, attributions and
associations match the run's lineage, for a run with a failed step and cache reuse, and for the wine run with a model
served from it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from kale_ext import cli, lineage
from kale_ext.lineage import mlmd_load
from kale_ext.lineage.mlmd import to_mlmd

from .mlmd_env import mlmd_python


@pytest.fixture(scope="module")
def mlmd():
    return mlmd_python()


def load_into_mlmd(python, graph_file, tmp_path):
    db = tmp_path / "mlmd.sqlite"
    out = subprocess.run(
        [python, mlmd_load.__file__, str(graph_file), str(db)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def export(capsys, store, run_id, tmp_path):
    path = tmp_path / "lineage.json"
    assert cli.main(["lineage", run_id, "--mlmd", str(path), "--store", store.folder]) == 0
    capsys.readouterr()
    return path


def test_the_export_references_only_what_it_defines(small):
    """Without ml-metadata: every event, attribution and association points at a node of the file."""
    store, _, again, _ = small
    g = to_mlmd(store, again["run_id"])
    ids = {kind: {n["id"] for n in g[kind]} for kind in ("artifacts", "executions", "contexts")}
    assert all(e["artifactId"] in ids["artifacts"] and e["executionId"] in ids["executions"] for e in g["events"])
    assert all(a["contextId"] in ids["contexts"] for a in g["attributions"] + g["associations"])
    type_ids = {t["id"] for t in g["artifactTypes"]}
    assert all(a["typeId"] in type_ids for a in g["artifacts"])
    assert len({a["name"] for a in g["artifacts"]}) == len(g["artifacts"]), "MLMD needs unique names per type"


def test_a_run_with_cache_reuse_and_a_failure_loads_into_mlmd(small, mlmd, capsys, tmp_path):
    store, first, again, _ = small
    got = load_into_mlmd(mlmd, export(capsys, store, again["run_id"], tmp_path), tmp_path)
    rid = again["run_id"]
    assert got["contexts"] == sorted([rid, "small"])
    ex = got["executions"]
    assert {n: e["state"] for n, e in ex.items()} == {
        f"{rid}/load": "CACHED",
        f"{rid}/double": "CACHED",
        f"{rid}/boom": "FAILED",
        f"{rid}/report": "CACHED",
    }
    answer = {s["name"]: s for s in lineage.run_lineage(store, rid)["steps"]}
    for name, step in answer.items():
        e = ex[f"{rid}/{name}"]
        assert e["type"] == "kale_ext.Step" and e["properties"]["code_hash"] == step["code_hash"]
        assert [k for k, _ in e["inputs"] if k != "workspace"] == sorted(i["name"] for i in step["inputs"])
        assert ("workspace", f"snapshot/{again['snapshot_id']}") in [tuple(i) for i in e["inputs"]]
        assert [k for k, _ in e["outputs"]] == sorted(
            [o["name"] for o in step["outputs"]] + (["metrics"] if step["metrics"] else [])
        )
    assert ex[f"{rid}/load"]["properties"]["cached_from"] == first["run_id"]
    # one artifact per content and file: boom's input "data" is the artifact load's (cached) output is
    load_out = dict(ex[f"{rid}/load"]["outputs"])
    assert dict(ex[f"{rid}/boom"]["inputs"])["data"] == load_out["data"] == dict(ex[f"{rid}/double"]["inputs"])["data"]
    assert load_out["data"].startswith(first["run_id"] + "/load/"), "named after the execution that made it"
    hashes = {a["hash"] for a in got["artifacts"].values() if a["type"] == "kale_ext.Artifact"}
    assert hashes == {o["hash"] for s in answer.values() for o in s["outputs"] + s["inputs"]}
    sizes = got["context_sizes"][rid]
    assert sizes == {"executions": 4, "artifacts": len(got["artifacts"])}


def test_the_wine_run_with_its_served_model_loads_into_mlmd(wine, mlmd, capsys, tmp_path):
    store, run, _ = wine
    got = load_into_mlmd(mlmd, export(capsys, store, run["run_id"], tmp_path), tmp_path)
    rid = run["run_id"]
    assert all(e["state"] == "COMPLETE" for e in got["executions"].values()) and len(got["executions"]) == len(
        run["steps"]
    )
    models = {n: a for n, a in got["artifacts"].items() if a["type"] == "kale_ext.Model"}
    rf = [a for n, a in models.items() if "/train_rf/rf#" in n]
    assert len(rf) == 1 and len(models) == 3
    [served] = lineage.run_lineage(store, rid)["served_models"]
    assert (served["step"], served["variable"]) == ("train_rf", "rf")
    assert rf[0]["uri"].startswith("file://") and os.path.isfile(rf[0]["uri"].removeprefix("file://"))
    evaluate = got["executions"][f"{rid}/evaluate"]
    assert ("metrics", f"{rid}/evaluate/metrics") in [tuple(o) for o in evaluate["outputs"]]


def test_the_workspace_snapshot_is_an_input_of_every_step(small, mlmd, capsys, tmp_path):
    """The run's workspace snapshot (taken by the runner before the first step) is an input of each execution."""
    store, run, _, _ = small
    snap = run["snapshot_id"]
    assert snap
    got = load_into_mlmd(mlmd, export(capsys, store, run["run_id"], tmp_path), tmp_path)
    assert got["artifacts"][f"snapshot/{snap}"]["type"] == "kale_ext.WorkspaceSnapshot"
    for name, execution in got["executions"].items():
        assert ("workspace", f"snapshot/{snap}") in [tuple(i) for i in execution["inputs"]], name
