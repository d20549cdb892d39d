"""Cell roles in a real JupyterLab: the step editors show the roles the server's analysis assigns (untagged cells
after a skip cell continue the step above it, as in Kale), and renaming a step renames every cell of that step."""

from __future__ import annotations

import json
import time

from pages import KalePage, code_cell, markdown_cell, write_notebook
from playwright.sync_api import expect

PIPELINE_MODE = {"version": 1, "pipeline_mode": True}


def test_untagged_cells_after_a_skip_cell_show_the_servers_roles(page, jupyter_lab, artifacts):
    write_notebook(
        jupyter_lab["root"] / "skipped.ipynb",
        [
            markdown_cell("# Load, look, train"),
            code_cell("data = [3, 1, 2]", ["step:load"]),
            code_cell("print('debug view of', data)", ["skip"]),
            code_cell("data = sorted(data)"),
            code_cell("best = data[-1]", ["step:train", "prev:load"]),
            code_cell("print(best)"),
        ],
        kale_ext=PIPELINE_MODE,
    )
    kale = KalePage(page, jupyter_lab).open_notebook("skipped.ipynb")
    kale.expect_cell_role(1, "step", "load")
    kale.expect_cell_role(2, "skip")
    kale.expect_cell_role(3, "step", "load")  # the server joins it to load; the old sidebar said "skip"
    expect(kale.step_editor(3)).to_contain_text("continues step load")
    kale.expect_cell_role(5, "step", "train")
    expect(kale.step_editor(5)).to_contain_text("continues step train")
    # The same answer the REST API gives for the saved notebook.
    response = page.request.post(
        f"{jupyter_lab['base']}/kale/v1/analyze?token={jupyter_lab['token']}",
        data=json.dumps({"path": "skipped.ipynb"}),
    )
    assert response.ok, response.status
    roles = [(c["role"], c["step"]) for c in response.json()["cells"]]
    expected = [("markdown", None), ("step", "load"), ("skip", None), ("step", "load"), ("step", "train")]
    assert roles == [*expected, ("step", "train")]
    assert [kale.cell_role(i) for i in range(1, 6)] == [(r, s or "") for r, s in roles[1:]]
    # The untagged cell takes the color of load's border, the skip cell none.
    assert "jp-Kale-stepCell" in (kale.cell(3).get_attribute("class") or "")
    assert "jp-Kale-stepCell" not in (kale.cell(2).get_attribute("class") or "")
    kale.cell(3).scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "cell-roles-after-skip.png"))


def test_renaming_a_step_renames_all_its_cells(page, jupyter_lab, artifacts):
    path = write_notebook(
        jupyter_lab["root"] / "rename.ipynb",
        [
            code_cell("raw = list(range(5))", ["step:prep", "image:python:3.11"]),
            code_cell("evens = [x for x in raw if x % 2 == 0]"),
            code_cell("total = sum(evens)", ["block:prep", "cache:disabled"]),
            code_cell("print(total)", ["step:report", "prev:prep"]),
        ],
        kale_ext=PIPELINE_MODE,
    )
    kale = KalePage(page, jupyter_lab).open_notebook("rename.ipynb")
    expect(kale.dag_node("prep")).to_be_visible(timeout=30_000)
    kale.expect_cell_role(1, "step", "prep")
    kale.rename_step(0, "clean")
    expect(kale.step_name(2)).to_have_value("clean")  # Kale's block: alias is renamed too
    expect(kale.dependency_chips(3)).to_have_text(["clean×"])
    expect(kale.dag_node("clean")).to_be_visible(timeout=10_000)
    expect(kale.dag_node("prep")).to_have_count(0)
    assert kale.dag_steps() == ["clean", "report"]
    kale.expect_cell_role(1, "step", "clean")
    expect(kale.step_editor(1)).to_contain_text("continues step clean")
    page.screenshot(path=str(artifacts / "cell-roles-renamed.png"))

    kale.save()
    deadline = time.monotonic() + 15
    tags: list = []
    while time.monotonic() < deadline:
        try:  # the file may be read while JupyterLab writes it
            tags = [c["metadata"].get("tags") for c in json.loads(path.read_text())["cells"]]
        except json.JSONDecodeError:
            tags = []
        if tags and tags[0] and tags[0][0] == "step:clean":
            break
        time.sleep(0.2)
    assert tags == [
        ["step:clean", "image:python:3.11"],
        None,
        ["block:clean", "cache:disabled"],
        ["step:report", "prev:clean"],
    ]
