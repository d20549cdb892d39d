"""Deploying to Kubeflow Pipelines from the sidebar: the Jupyter server's KfpRunner points at the loopback fake KFP API
(the kfp_lab fixture of ui-tests/conftest.py); the run and its step states, as the fake reports them, show in the runs panel like a local
run's, with the link to the KFP UI."""

from __future__ import annotations

import json

from pages import KalePage, code_cell, write_notebook
from playwright.sync_api import expect


def test_deploy_to_kubeflow_pipelines_and_watch_the_run(page, kfp_lab, artifacts):
    fake = kfp_lab["kfp"]
    write_notebook(
        kfp_lab["root"] / "kfp_deploy.ipynb",
        [
            code_cell("N = 4", ["pipeline-parameters"]),
            code_cell("data = list(range(N))", ["step:load"]),
            code_cell("squares = [x * x for x in data]", ["step:square", "prev:load"]),
            code_cell("total = sum(squares)", ["step:total", "prev:square"]),
        ],
    )
    running = {"load": "SUCCEEDED", "square": "RUNNING", "total": "PENDING"}
    done = dict.fromkeys(["load", "square", "total"], "SUCCEEDED")
    fake.script = [("PENDING", {})] + [("RUNNING", running)] * 12 + [("SUCCEEDED", done)]
    kale = KalePage(page, kfp_lab).open_notebook("kfp_deploy.ipynb")
    expect(kale.dag_node("total")).to_be_visible(timeout=30_000)

    kale.deploy_to("Kubeflow Pipelines")
    expect(kale.run_step("square")).to_have_attribute("data-status", "running", timeout=30_000)
    expect(kale.run_step("load")).to_have_attribute("data-status", "succeeded")
    expect(kale.run_step("total")).to_have_attribute("data-status", "queued")
    (kfp_id,) = fake.runs
    link = kale.run_detail.get_by_test_id("kale-run-external")
    expect(link).to_have_attribute("href", f"{fake.url}/#/runs/details/{kfp_id}")
    page.screenshot(path=str(artifacts / "kfp-run-running.png"))

    assert kale.wait_run_finished(60_000) == "succeeded"
    for step in ("load", "square", "total"):
        expect(kale.run_step(step)).to_have_attribute("data-status", "succeeded")
    row = kale.panel.locator(f'[data-run-id="{kale.run_detail.get_attribute("data-run-id")}"]').first
    expect(row).to_contain_text("kfp")
    page.screenshot(path=str(artifacts / "kfp-run-succeeded.png"))

    (create,) = fake.calls("POST", "/apis/v2beta1/runs")
    assert create["body"]["runtime_config"]["parameters"] == {"N": 4}
    assert {c["authorization"] for c in fake.calls()} == {f"Bearer {fake.token}"}
    (artifacts / "kfp-requests.json").write_text(
        json.dumps([{k: c[k] for k in ("method", "path", "query")} for c in fake.calls()], indent=1)
    )
