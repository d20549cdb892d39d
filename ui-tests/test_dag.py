"""The DAG and the parameter names stay readable in the narrow sidebar: edge labels never overlap each other or a
node, long labels are shortened with the full list in the edge's tooltip, the graph opens full size in the main
area (live, one tab per notebook, its nodes jump to their cells), and long parameter names are never cut off."""

from __future__ import annotations

import re

from pages import KalePage, code_cell, write_notebook
from playwright.sync_api import expect

FEATURES = [f"standardized_training_features_{k}" for k in range(8)]
PARAMETERS = {
    "LEARNING_RATE_WARMUP_SCHEDULE_FACTOR": "0.1",
    "MAXIMUM_NUMBER_OF_TRAINING_EPOCHS_PER_MODEL": "3",
    "seed": "1",
}
BRANCHES = 6


def _fan_out_notebook(root):
    """A producer of eight long-named variables feeding six parallel steps (each reads 1 to 5 of them), and a report
    reading all six results back: a wide fan-out and fan-in with long labels."""
    cells = [code_cell("\n".join(f"{k} = {v}" for k, v in PARAMETERS.items()), ["pipeline-parameters"])]
    cells.append(code_cell("\n".join(f"{f} = [seed, {i}]" for i, f in enumerate(FEATURES)), ["step:load_and_split"]))
    for i in range(BRANCHES):
        used = FEATURES[i : i + 1 + i % 5]
        source = f"model_{i}_validation_score = sum({' + '.join(used)}) * LEARNING_RATE_WARMUP_SCHEDULE_FACTOR"
        cells.append(code_cell(source, [f"step:train_model_{i}"]))
    report = " + ".join(f"model_{i}_validation_score" for i in range(BRANCHES))
    cells.append(code_cell(f"best = ({report}) * MAXIMUM_NUMBER_OF_TRAINING_EPOCHS_PER_MODEL", ["step:report"]))
    return write_notebook(root / "fan_out.ipynb", cells)


def _overlaps(a: dict, b: dict, tolerance: float = 0.5) -> bool:
    return (
        a["x"] + tolerance < b["x"] + b["width"]
        and b["x"] + tolerance < a["x"] + a["width"]
        and a["y"] + tolerance < b["y"] + b["height"]
        and b["y"] + tolerance < a["y"] + a["height"]
    )


def _assert_labels_readable(boxes: dict, steps: int) -> None:
    labels, nodes = boxes["labels"], boxes["nodes"]
    assert len(nodes) == steps
    assert len(labels) == boxes["dataEdges"], "every data edge shows its label"
    clashes = [
        (a["edge"], a["name"], b.get("edge", "node"), b["name"])
        for i, a in enumerate(labels)
        for b in labels[i + 1 :] + nodes
        if _overlaps(a, b)
    ]
    assert clashes == []
    for label in labels:  # the shown text is the start of the full list, which is the edge's tooltip
        shown = label["name"].split(" +")[0].rstrip("…").split(", ")[0]
        assert shown and shown in label["tooltip"], label


def test_dag_labels_and_parameter_names_are_readable(page, jupyter_lab, artifacts):
    _fan_out_notebook(jupyter_lab["root"])
    kale = KalePage(page, jupyter_lab).open_notebook("fan_out.ipynb")
    expect(kale.dag.locator("g[data-step]")).to_have_count(BRANCHES + 2, timeout=30_000)
    sidebar_width = kale.panel.bounding_box()["width"]
    assert sidebar_width < 320, sidebar_width  # JupyterLab's default sidebar width: nothing was widened

    boxes = kale.dag_boxes()
    _assert_labels_readable(boxes, BRANCHES + 2)
    # Long lists are shortened; the tooltip has them whole.
    edge = next(b for b in boxes["labels"] if b["edge"] == "load_and_split->train_model_4")
    assert re.search(r"\+\d+$|…", edge["name"]), edge
    assert ", ".join(FEATURES[4:8]) in edge["tooltip"], edge

    names = kale.parameter_names()
    assert sorted(n["text"] for n in names) == sorted(PARAMETERS)
    for name in names:
        assert name["fits"] or name["title"] == name["text"], name
    kale.dag.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "dag-labels-sidebar.png"))
    kale.panel.get_by_test_id("kale-parameters").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "parameter-names-sidebar.png"))

    # Full size in the main area: the same graph, labels still apart, scaled to the tab.
    full = kale.open_full_dag()
    expect(full.locator("g[data-step]")).to_have_count(BRANCHES + 2)
    _assert_labels_readable(kale.dag_boxes(full), BRANCHES + 2)
    assert float(full.get_attribute("data-scale")) >= float(kale.dag.get_attribute("data-scale"))
    page.screenshot(path=str(artifacts / "dag-full-size.png"))

    # One tab per notebook: opening again brings the same one to the front.
    kale.open_full_dag()
    expect(kale.full_dag_panel).to_have_count(1)

    # A node jumps to its step's cell, as in the sidebar.
    kale.cell(0).locator(".jp-InputPrompt").first.click()
    full.locator('g[data-step="train_model_3"]').click()
    expect(kale.cell(5)).to_have_class(re.compile(r"jp-mod-active"))

    # Live: a renamed step shows up in the full-size graph without reopening it.
    kale.set_pipeline_mode(True)
    kale.rename_step(BRANCHES + 2, "final_report")
    expect(full.locator('g[data-step="final_report"]')).to_be_visible(timeout=10_000)
    expect(full.locator('g[data-step="report"]')).to_have_count(0)

    kale.close_full_dag()
    expect(kale.dag.locator('g[data-step="final_report"]')).to_be_visible()

    # Closing the notebook closes its full-size DAG too.
    kale.open_full_dag()
    kale.close_modified_notebook("fan_out.ipynb")  # the rename above is unsaved
    expect(kale.full_dag_panel).to_have_count(0)
