"""REST lineage and step exploration with jp_fetch (authentication on): a run's lineage, the exploration notebook
written beside the run's notebook (unique names, 201), 404 for unknown runs and steps, 409 for outputs of a failed
step, 403 for a run whose notebook is outside the server root, 400 for a bad body; a reproduced run's lineage and
exploration (its store is its original's, not its restored notebook's)."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from tornado.httpclient import HTTPClientError

from kale_ext.commands.run import load_pipeline
from kale_ext.runners.local import LocalRunner
from kale_ext.runners.reproduce import reproduce
from kale_ext.store import Store
from tests.notebooks import make_notebook as _nb

from .test_runs import fetch_json, wait_done

NOTEBOOK = _nb(
    (["pipeline-parameters"], "N = 3"),
    (["step:make"], "values = list(range(N))"),
    (["step:total", "prev:make"], "total = sum(values)"),
    (["step:broken", "prev:make"], "raise RuntimeError(f'no {len(values)}')"),
    (["pipeline-metrics"], "print(total)"),
)


@pytest.fixture(autouse=True)
def _stores_beside_the_notebooks(monkeypatch):
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)


async def start(jp_fetch, jp_root_dir):
    (jp_root_dir / "sub").mkdir(exist_ok=True)
    (jp_root_dir / "sub" / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    created = await fetch_json(jp_fetch, "runs", method="POST", body=json.dumps({"path": "sub/nb.ipynb"}))
    return await wait_done(jp_fetch, created["run_id"])


async def expect_error(jp_fetch, *parts, code, **kw):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", *parts, **kw)
    assert err.value.code == code, err.value.response.body
    return json.loads(err.value.response.body)


async def test_run_lineage(jp_fetch, jp_root_dir):
    run = await start(jp_fetch, jp_root_dir)
    assert run["status"] == "failed"
    lineage = await fetch_json(jp_fetch, "runs", run["run_id"], "lineage")
    steps = {s["name"]: s for s in lineage["steps"]}
    assert lineage["run_id"] == run["run_id"] and lineage["kind"] == "run"
    assert steps["total"]["parameters"] == {} and steps["make"]["parameters"] == {"N": 3}
    [values] = steps["total"]["inputs"]
    assert values["name"] == "values" and values["producer"] == {"run_id": run["run_id"], "step": "make"}
    assert values["hash"] == steps["make"]["outputs"][0]["hash"] and "path" not in values, "server paths stay there"
    assert steps["broken"]["error"] == "RuntimeError: no 3" and steps["make"]["code_hash"].startswith("sha256:")
    assert lineage["metrics"] == {"total": {"value": 3, "step": "total"}}


async def test_explore_writes_a_notebook_beside_the_runs_notebook(jp_fetch, jp_root_dir):
    run = await start(jp_fetch, jp_root_dir)
    rid = run["run_id"]
    response = await jp_fetch("kale", "v1", "runs", rid, "steps", "broken", "explore", method="POST", body="{}")
    assert response.code == 201
    path = json.loads(response.body)["path"]
    assert path == f"sub/nb-explore-broken-{rid}.ipynb"
    nb = json.loads((jp_root_dir / path).read_text())
    first = [c["source"] for c in nb["cells"] if c["cell_type"] == "code"][0]
    assert first == f'from kale_ext import explore\nexplore.load("{rid}", "broken")'
    again = await fetch_json(
        jp_fetch, "runs", rid, "steps", "total", "explore", method="POST", body=json.dumps({"outputs": True})
    )
    assert again["path"] == f"sub/nb-explore-total-{rid}.ipynb"
    assert "outputs=True" in json.loads((jp_root_dir / again["path"]).read_text())["cells"][1]["source"]
    third = await fetch_json(jp_fetch, "runs", rid, "steps", "total", "explore", method="POST", body="{}")
    assert third["path"] == f"sub/nb-explore-total-{rid}-2.ipynb"


async def test_errors(jp_fetch, jp_root_dir):
    run = await start(jp_fetch, jp_root_dir)
    rid = run["run_id"]
    body = await expect_error(jp_fetch, "runs", "20000101-000000-000000", "lineage", code=404)
    assert body["code"] == "run.not_found"
    body = await expect_error(jp_fetch, "runs", rid, "steps", "nope", "explore", method="POST", body="{}", code=404)
    assert body["code"] == "step.not_found"
    body = await expect_error(
        jp_fetch, "runs", rid, "steps", "broken", "explore", method="POST", body='{"outputs": true}', code=409
    )
    assert body["code"] == "explore.no_outputs"
    body = await expect_error(
        jp_fetch, "runs", rid, "steps", "total", "explore", method="POST", body='{"outputs": "yes"}', code=400
    )
    assert body["details"].get("field") == "outputs"
    assert not list((jp_root_dir / "sub").glob("*-explore-*")), "nothing is written for a refused request"


async def test_a_run_outside_the_root_is_refused_with_403(jp_fetch, jp_root_dir, tmp_path_factory, monkeypatch):
    outside = tmp_path_factory.mktemp("outside")
    home = outside / "home"
    monkeypatch.setenv("KALE_EXT_HOME", str(home))
    (outside / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    runner = LocalRunner(Store(str(home)))
    try:
        rid = runner.start(load_pipeline(str(outside / "nb.ipynb")), str(outside / "nb.ipynb"))
        runner.wait(rid, timeout=120)
    finally:
        runner.close()
    (jp_root_dir / "here.ipynb").write_text(json.dumps(NOTEBOOK))
    await fetch_json(jp_fetch, "runs", params={"notebook": "here.ipynb"})  # the server opens the shared store
    body = await expect_error(jp_fetch, "runs", rid, "steps", "total", "explore", method="POST", body="{}", code=403)
    assert body["code"] == "path.forbidden"
    assert not list(outside.glob("*-explore-*"))
    lineage = await fetch_json(jp_fetch, "runs", rid, "lineage")
    assert lineage["run_id"] == rid


async def test_a_reproduced_run_has_lineage_and_explores(jp_fetch, jp_root_dir, monkeypatch):
    monkeypatch.delenv("KALE_EXT_SNAPSHOTS", raising=False)
    original = await start(jp_fetch, jp_root_dir)
    assert original["snapshot_id"]
    store = Store(str(jp_root_dir / "sub" / ".kale"))
    result = await asyncio.get_running_loop().run_in_executor(None, reproduce, store, original["run_id"])
    rid, folder = result["run_id"], result["folder"]
    assert folder.startswith(str(jp_root_dir / "sub" / ".kale" / "reproductions")), folder
    lineage = await fetch_json(jp_fetch, "runs", rid, "lineage")
    steps = {s["name"]: s for s in lineage["steps"]}
    assert lineage["run_id"] == rid and set(steps) == {"make", "total", "broken"}
    assert steps["total"]["inputs"][0]["producer"] == {"run_id": rid, "step": "make"}
    explored = await fetch_json(jp_fetch, "runs", rid, "steps", "total", "explore", method="POST", body="{}")
    assert explored["path"] == f"sub/.kale/reproductions/{os.path.basename(folder)}/nb-explore-total-{rid}.ipynb"
    assert (jp_root_dir / explored["path"]).is_file()
    servable = await fetch_json(jp_fetch, "runs", rid, "models")  # the models of its steps, from the same store
    assert servable["run_id"] == rid and servable["models"] == []
    assert not os.path.exists(os.path.join(folder, ".kale")), "no empty store beside the restored notebook"
