"""Step exploration and lineage in a real JupyterLab: from the runs panel, "Explore…" on a step opens its exploration
notebook in a kernel and runs the first cell, which prints what it loaded (the step's parameters, its inputs with
their recorded hashes, its outputs on request), also for the failed step; the run's lineage view shows each step's
inputs with the step that produced them, its outputs and code hash."""

from __future__ import annotations

import json
import re

from pages import KalePage, code_cell, markdown_cell, write_notebook
from playwright.sync_api import expect


def _notebook(root):
    return write_notebook(
        root / "explore.ipynb",
        [
            markdown_cell("# A pipeline whose last step fails"),
            code_cell("import math", ["imports"]),
            code_cell("N = 5", ["pipeline-parameters"]),
            code_cell("data = list(range(N))\ninfo = {'n': N}", ["step:load"]),
            code_cell("squares = [x * x for x in data]", ["step:square", "prev:load"]),
            code_cell(
                "total = math.fsum(squares)\nraise ValueError(f'total {total} is too big')",
                ["step:check", "prev:square"],
            ),
        ],
    )


def _run(page, lab, run_id):
    response = page.request.get(f"{lab['base']}/kale/v1/runs/{run_id}?token={lab['token']}")
    assert response.ok, response.text()
    return json.loads(response.text())


def _hashes(run, step, key):
    [s] = [s for s in run["steps"] if s["name"] == step]
    return {a["name"]: a["hash"] for a in s[key]}


def test_explore_a_step_in_a_notebook_and_see_the_runs_lineage(page, jupyter_lab, artifacts):
    _notebook(jupyter_lab["root"])
    kale = KalePage(page, jupyter_lab).open_notebook("explore.ipynb")
    kale.run_locally()
    assert kale.wait_run_finished() == "failed"
    run_id = kale.run_detail.get_attribute("data-run-id")
    run = _run(page, jupyter_lab, run_id)

    # A succeeded step, with its outputs: the first cell ran in the new notebook's kernel and printed what it loaded.
    kale.explore_step("square", outputs=True)
    expect(kale.notebook_tab(f"explore-square-{run_id}")).to_be_visible(timeout=60_000)
    output = kale.cell_output(1).first  # the printed table; then the answer's short form
    expect(output).to_contain_text(f"Loaded step 'square' of run {run_id}", timeout=90_000)
    text = output.inner_text()
    for name, digest in {**_hashes(run, "square", "inputs"), **_hashes(run, "square", "outputs")}.items():
        assert re.search(rf"^{name}\s+(input|output)\s+\w+\s+{re.escape(digest[:19])}", text, re.M), (name, text)
    assert "parameter" not in text, "square reads no parameter"
    expect(kale.cell_output(1).last).to_have_text("<2 name(s) loaded: data, squares>")
    expect(kale.cell(1)).to_contain_text('explore.load("' + run_id + '", "square", outputs=True)')
    expect(kale.notebook).to_contain_text("squares = [x * x for x in data]")
    expect(kale.panel).to_contain_text("The notebook has no steps")  # its cells are tagged skip: no pipeline
    expect(kale.panel.locator(".jp-Kale-diagnostics")).to_have_count(0)
    page.screenshot(path=str(artifacts / "explore-notebook.png"))

    # The failed step: its inputs are there, the header names the error.
    kale.notebook_tab("explore.ipynb").first.click()
    kale.select_run(run_id)
    kale.explore_step("check")
    expect(kale.notebook_tab(f"explore-check-{run_id}")).to_be_visible(timeout=60_000)
    expect(kale.cell(0)).to_contain_text("ValueError: total 30.0 is too big")
    failed_output = kale.cell_output(1).first
    expect(failed_output).to_contain_text(f"Loaded step 'check' of run {run_id}", timeout=90_000)
    [squares] = _hashes(run, "check", "inputs").values()
    expect(failed_output).to_contain_text(squares[:19])

    # The run's lineage: inputs with their producers, outputs, code hashes.
    kale.notebook_tab("explore.ipynb").first.click()
    kale.select_run(run_id)
    view = kale.open_lineage()
    steps = view.get_by_test_id("kale-lineage-step")
    expect(steps).to_have_count(3)
    check = view.locator('[data-testid="kale-lineage-step"][data-step="check"]')
    expect(check.locator('[data-direction="input"][data-name="squares"]')).to_contain_text("from square")
    expect(check.locator('[data-direction="input"][data-name="squares"]')).to_have_attribute("data-hash", squares)
    expect(check).to_contain_text("ValueError: total 30.0 is too big")
    expect(view.locator('[data-testid="kale-lineage-step"][data-step="load"]')).to_contain_text("params: N=5")
    expect(view.get_by_test_id("kale-lineage-snapshot")).to_be_visible()
    view.evaluate("el => el.closest('.jp-Kale-runDetail').scrollIntoView({block: 'start'})")
    page.screenshot(path=str(artifacts / "run-lineage.png"))
