"""The pipeline workflow in a real JupyterLab: Pipeline mode, tagging a new cell as a step, the live DAG, a local run
with every step succeeding, a step's log, a failing step pointing at its cell, and the UI timings (printed and written
to artifacts/ui-bench.json; figures, not pass/fail)."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pages import KalePage, code_cell, markdown_cell, write_notebook
from playwright.sync_api import expect

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH: dict[str, float | int | str] = {}


@pytest.fixture(scope="module", autouse=True)
def write_bench(artifacts):
    yield
    if BENCH:
        BENCH["load_average_1min"] = round(os.getloadavg()[0], 2)  # the figures scale with the machine's load
        (artifacts / "ui-bench.json").write_text(json.dumps(BENCH, indent=2) + "\n")
        print("\nUI benchmark:", json.dumps(BENCH, indent=2))


def _fast_notebook(root):
    return write_notebook(
        root / "fast.ipynb",
        [
            markdown_cell("# A small, fast pipeline"),
            code_cell("import math", ["imports"]),
            code_cell("N = 4", ["pipeline-parameters"]),
            code_cell("data = list(range(N))\nprint('loaded', data)", ["step:load"]),
            code_cell("squares = [x * x for x in data]", ["step:square", "prev:load"]),
            code_cell("total = math.fsum(squares)\nprint('total', total)", ["step:total", "prev:square"]),
        ],
    )


def test_tag_a_new_cell_see_the_dag_and_run_locally(page, jupyter_lab, artifacts):
    _fast_notebook(jupyter_lab["root"])
    kale = KalePage(page, jupyter_lab).open_notebook("fast.ipynb")
    expect(kale.dag_node("total")).to_be_visible(timeout=30_000)
    assert kale.dag_steps() == ["load", "square", "total"]
    expect(kale.dag_edge("load", "square")).to_contain_text("data")

    kale.set_pipeline_mode(True)
    expect(kale.step_editor(5)).to_be_visible()
    expect(kale.step_editor(5).get_by_label("Step name")).to_have_value("total")
    page.screenshot(path=str(artifacts / "pipeline-mode.png"))

    index = kale.add_code_cell_at_end("report = f'{total:.0f} from {len(data)} values'\nprint(report)")
    expect(kale.step_editor(index)).to_contain_text("continues step total")

    edits = []
    kale.start_timing_until_node(f"step_{index}")
    kale.set_cell_kind(index, "step")  # a new step with a suggested name
    expect(kale.dag_node(f"step_{index}")).to_be_visible(timeout=10_000)
    edits.append(kale.timing())

    for name in ["report_a", "report_b", "report_c", "report"]:  # a few renames: more samples of the same edit
        kale.start_timing_until_node(name)
        kale.rename_step(index, name)
        expect(kale.dag_node(name)).to_be_visible(timeout=10_000)
        edits.append(kale.timing())
    expect(kale.dag_node(f"step_{index}")).to_have_count(0)
    assert kale.dag_steps() == ["load", "square", "total", "report"]
    expect(kale.dag_edge("total", "report")).to_contain_text("total")
    expect(kale.dag_edge("load", "report")).to_contain_text("data")
    page.screenshot(path=str(artifacts / "pipeline-dag-new-step.png"))

    # Tag edits are in the cell's undo history: Ctrl+Z in the cell undoes them (the step leaves the DAG), redo restores.
    kale.cell(index).locator(".jp-InputArea-editor").first.click()
    page.keyboard.press("Control+z")
    expect(kale.dag_node("report")).to_have_count(0, timeout=10_000)
    page.keyboard.press("Control+Shift+z")
    expect(kale.dag_node("report")).to_be_visible(timeout=10_000)
    expect(kale.step_editor(index).get_by_label("Step name")).to_have_value("report")
    expect(kale.dag_edge("total", "report")).to_contain_text("total")
    BENCH["tag_edit_to_dag_ms"] = round(statistics.median(edits), 1)
    BENCH["tag_edit_to_dag_samples_ms"] = [round(e, 1) for e in edits]
    BENCH["tag_edit_to_dag_target_ms"] = 300

    # Save, then check the file on disk has the Kale-compatible tags and the Pipeline mode metadata.
    kale.save()
    nb_path = jupyter_lab["root"] / "fast.ipynb"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        saved = json.loads(nb_path.read_text())
        if len(saved["cells"]) == 7:
            break
        time.sleep(0.2)
    assert saved["cells"][6]["metadata"]["tags"] == ["step:report"]
    assert saved["metadata"]["kale_ext"]["pipeline_mode"] is True
    assert saved["metadata"]["kale_ext"]["version"] == 1

    kale.run_locally()
    status = kale.wait_run_finished()
    assert status == "succeeded", kale.run_detail.inner_text()
    for step in ["load", "square", "total", "report"]:
        expect(kale.run_step(step)).to_have_attribute("data-status", "succeeded")
        expect(kale.panel.get_by_test_id("kale-run-dag").locator(f'g[data-step="{step}"]')).to_have_attribute(
            "data-status", "succeeded"
        )
    expect(kale.panel.get_by_test_id("kale-run-progress")).to_contain_text("4/4 steps")
    log = kale.open_log("report")
    expect(log).to_contain_text("14 from 4 values", timeout=15_000)
    expect(kale.panel.get_by_test_id("kale-runs").locator('[data-status="succeeded"]')).to_have_count(1)
    page.screenshot(path=str(artifacts / "run-succeeded-log.png"))


def test_a_failing_step_points_at_its_cell(page, jupyter_lab, artifacts):
    write_notebook(
        jupyter_lab["root"] / "failing.ipynb",
        [
            code_cell("N = 2", ["pipeline-parameters"]),
            code_cell("values = list(range(N))", ["step:make"]),
            markdown_cell("The next step fails on its third line."),
            code_cell("x = sum(values)\ny = x + 1\nraise ValueError(f'boom {y}')", ["step:explode", "prev:make"]),
        ],
        kale_ext={"version": 1, "pipeline_mode": True},
    )
    # A run started from the CLI is recorded in the same store, so the panel lists it.
    cli = subprocess.run(
        [sys.executable, "-m", "kale_ext", "run", "failing.ipynb"],
        cwd=jupyter_lab["root"], capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if k != "KALE_EXT_HOME"},
    )  # fmt: skip
    assert cli.returncode != 0, cli.stdout + cli.stderr
    kale = KalePage(page, jupyter_lab).open_notebook("failing.ipynb")
    runs = kale.panel.get_by_test_id("kale-runs")
    expect(runs.locator('[data-status="failed"]')).to_have_count(1, timeout=30_000)
    expect(kale.step_editor(3)).to_be_visible(timeout=30_000)
    expect(kale.dag_node("explode")).to_be_visible(timeout=30_000)
    kale.run_locally()
    assert kale.wait_run_finished() == "failed"
    expect(runs.locator('[data-status="failed"]')).to_have_count(2, timeout=10_000)
    # "make" succeeded in the CLI run above, so this run reuses it from the cache.
    expect(kale.run_step("make")).to_have_attribute("data-status", "cached")
    expect(kale.run_step("explode")).to_have_attribute("data-status", "failed")
    link = kale.run_step("explode").get_by_test_id("kale-step-error-link")
    expect(link).to_have_text("Go to cell 4, line 3")
    expect(kale.run_step("explode").get_by_test_id("kale-step-error")).to_contain_text("boom 2")
    kale.cell(0).locator(".jp-InputPrompt").first.click()
    assert kale.active_cell_index() == 0
    link.click()
    expect(kale.cell(3)).to_have_class(re.compile(r"jp-mod-active"))
    assert kale.active_cell_index() == 3
    # The cursor is on the line that raised (JupyterLab's status bar shows the editor's cursor position).
    expect(page.locator(".jp-StatusBar-Widget").get_by_text("Ln 3, Col 1")).to_be_visible()
    page.screenshot(path=str(artifacts / "run-failed-step-cell.png"))

    # The deploy menu: Run locally, and the Kubeflow entry disabled with its reason; Escape closes it.
    kale.panel.get_by_role("button", name="Deploy to…").click()
    menu = kale.panel.get_by_role("menu")
    expect(menu.get_by_role("menuitem").nth(0)).to_be_focused()
    kfp = menu.get_by_role("menuitem", name=re.compile("Kubeflow Pipelines"))
    expect(kfp).to_have_attribute("aria-disabled", "true")
    expect(kfp).to_contain_text("no Kubeflow Pipelines backend")
    page.screenshot(path=str(artifacts / "deploy-menu.png"))
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)


def test_render_a_100_step_dag(page, jupyter_lab, artifacts):
    cells = [code_cell("seed = 1", ["pipeline-parameters"])]
    for i in range(100):
        if i == 0:
            cells.append(code_cell("v0 = seed", ["step:s000"]))
            continue
        deps = [i - 1] + ([i - 3] if i >= 3 and i % 2 == 0 else [])
        source = f"v{i} = " + " + ".join(f"v{d}" for d in deps)
        cells.append(code_cell(source, [f"step:s{i:03d}"] + [f"prev:s{d:03d}" for d in deps]))
    write_notebook(jupyter_lab["root"] / "hundred.ipynb", cells)
    kale = KalePage(page, jupyter_lab)
    with page.expect_response(lambda r: "/kale/v1/analyze" in r.url, timeout=60_000) as response:
        kale.open_notebook("hundred.ipynb")
    assert response.value.ok
    expect(kale.dag).to_have_attribute("data-steps", "100", timeout=30_000)
    expect(kale.dag).to_have_attribute("data-paint-ms", re.compile(r"\d"), timeout=10_000)
    assert kale.dag.locator("g[data-step]").count() == 100
    render = float(kale.dag.get_attribute("data-render-ms"))
    paint = float(kale.dag.get_attribute("data-paint-ms"))
    layout = float(kale.dag.get_attribute("data-layout-ms"))
    BENCH["dag_100_steps_render_ms"] = render
    BENCH["dag_100_steps_painted_ms"] = paint
    BENCH["dag_100_steps_layout_ms"] = layout
    BENCH["dag_100_steps_target_ms"] = 500
    kale.dag.locator('g[data-step="s050"]').scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "dag-100-steps.png"))


def _luminance(css_color: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_dark_theme(page, jupyter_lab, artifacts):
    if not (jupyter_lab["root"] / "fast.ipynb").exists():
        _fast_notebook(jupyter_lab["root"])
    kale = KalePage(page, jupyter_lab).open_notebook("fast.ipynb")
    expect(kale.dag_node("load")).to_be_visible(timeout=30_000)
    runs = kale.panel.get_by_test_id("kale-runs")
    if runs.count():
        runs.locator("button").first.click()
        expect(kale.run_detail).to_be_visible()
    label = kale.dag_node("load").locator("text")
    assert _luminance(label.evaluate("e => getComputedStyle(e).fill")) < 0.5  # light theme: dark text
    kale.set_theme("JupyterLab Dark")
    try:
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false", timeout=15_000)
        expect(label).to_have_css("fill", re.compile(r"rgb"), timeout=5_000)
        page.wait_for_timeout(300)  # the theme's stylesheet swap settles
        assert _luminance(label.evaluate("e => getComputedStyle(e).fill")) > 0.5  # dark theme: light text
        panel_bg = kale.panel.evaluate("e => getComputedStyle(e).backgroundColor")
        assert _luminance(panel_bg) < 0.5
        page.screenshot(path=str(artifacts / "dark-theme.png"))
    finally:
        kale.set_theme("JupyterLab Light")
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "true", timeout=15_000)


def test_live_log_cancel_and_rerun(page, jupyter_lab, artifacts):
    write_notebook(
        jupyter_lab["root"] / "slow.ipynb",
        [
            code_cell("import time", ["imports"]),
            code_cell(
                "ready = True\nprint('first line', flush=True)\ntime.sleep(60)\nprint('second line')", ["step:slow"]
            ),
            code_cell("done = ready", ["step:after", "prev:slow"]),
        ],
    )
    kale = KalePage(page, jupyter_lab).open_notebook("slow.ipynb")
    expect(kale.dag_node("after")).to_be_visible(timeout=30_000)
    kale.run_locally()
    expect(kale.run_step("slow")).to_have_attribute("data-status", "running", timeout=30_000)
    expect(kale.run_step("after")).to_have_attribute("data-status", "queued")
    log = kale.open_log("slow")
    # The log streams while the step runs: the first line shows up long before the step could finish.
    expect(log).to_contain_text("first line", timeout=15_000)
    expect(kale.run_step("slow")).to_have_attribute("data-status", "running")
    expect(log).not_to_contain_text("second line")
    page.screenshot(path=str(artifacts / "run-live-log.png"))

    kale.run_detail.get_by_role("button", name="Cancel").click()
    assert kale.wait_run_finished(timeout=30_000) == "cancelled"
    expect(kale.run_step("slow")).to_have_attribute("data-status", "cancelled")

    first_run = kale.run_detail.get_attribute("data-run-id")
    kale.run_detail.get_by_role("button", name="Re-run").click()
    expect(kale.run_detail).not_to_have_attribute("data-run-id", first_run or "", timeout=15_000)
    expect(kale.run_step("slow")).to_have_attribute("data-status", "running", timeout=30_000)
    expect(kale.panel.get_by_test_id("kale-runs").locator("button[data-run-id]")).to_have_count(2, timeout=10_000)
    kale.run_detail.get_by_role("button", name="Cancel").click()
    assert kale.wait_run_finished(timeout=30_000) == "cancelled"


def test_example_notebook_runs_with_metrics(page, jupyter_lab, artifacts):
    """The shipped wine example: its DAG as analysed, parameters edited before the run, metrics in the runs panel."""
    shutil.copy(REPO_ROOT / "examples" / "wine_classification.ipynb", jupyter_lab["root"] / "wine.ipynb")
    kale = KalePage(page, jupyter_lab).open_notebook("wine.ipynb")
    expect(kale.dag.locator("g[data-step]")).to_have_count(6, timeout=30_000)
    for branch in ["train_rf", "train_gb", "train_lr"]:
        expect(kale.dag_edge("preprocess", branch)).to_contain_text("X_train, y_train")
        expect(kale.dag_edge(branch, "evaluate")).to_be_visible()
    expect(kale.panel.get_by_test_id("kale-diagnostics")).to_contain_text("prev:preprocess")

    # Pipeline mode on: a step editor per code cell; off again: they go away.
    kale.set_pipeline_mode(True)
    expect(kale.notebook.get_by_test_id("kale-step-editor")).to_have_count(11)
    kale.set_pipeline_mode(False)
    expect(kale.notebook.get_by_test_id("kale-step-editor")).to_have_count(0)

    params = kale.panel.get_by_test_id("kale-parameters")
    params.get_by_label("N_ESTIMATORS").fill("nope")
    expect(params).to_contain_text("expected a number")
    params.get_by_label("N_ESTIMATORS").fill("20")
    kale.run_locally()
    assert kale.wait_run_finished(timeout=120_000) == "succeeded", kale.run_detail.inner_text()
    metrics = kale.run_detail.get_by_test_id("kale-run-metrics")
    expect(metrics).to_contain_text("best_f1")
    expect(metrics).to_contain_text("rf_accuracy")
    # The run recorded the edited parameter.
    run_id = kale.run_detail.get_attribute("data-run-id")
    run = page.request.get(f"{jupyter_lab['base']}/kale/v1/runs/{run_id}?token={jupyter_lab['token']}").json()
    assert run["parameters"]["N_ESTIMATORS"] == 20, run["parameters"]
    expect(kale.panel.get_by_test_id("kale-runs")).to_contain_text("best_f1")
    page.screenshot(path=str(artifacts / "wine-run-metrics.png"))
