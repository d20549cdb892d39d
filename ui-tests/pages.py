"""Page object of the kale_ext JupyterLab UI for the browser tests: open a notebook, drive the Pipeline panel and the
step editors, run locally, read runs, logs and timings. Tests speak in these terms; selectors live here only."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

SIDEBAR_TAB = '.jp-SideBar.jp-mod-left li[data-id="kale-ext-panel"]'
MODELS_TAB = '.jp-SideBar.jp-mod-left li[data-id="kale-ext-models"]'


def code_cell(source: str, tags: list[str] | None = None) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": tags} if tags else {},
        "outputs": [],
        "source": source,
    }


def markdown_cell(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def write_notebook(path: Path, cells: list[dict], **metadata) -> Path:
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            **metadata,
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1))
    return path


class KalePage:
    """One JupyterLab tab with a notebook open and the Pipeline panel visible."""

    def __init__(self, page: Page, lab: dict):
        self.page = page
        self.lab = lab

    # --- opening ---------------------------------------------------------------------------------------------------
    def open_notebook(self, name: str) -> KalePage:
        # A workspace of its own: nothing restored from earlier tests, and the default workspace (used by
        # test_sidebar.py) is left as it was.
        workspace = f"kale-{uuid.uuid4().hex[:8]}"
        self.page.goto(f"{self.lab['base']}/lab/workspaces/{workspace}/tree/{name}?token={self.lab['token']}")
        tab = self.page.locator(SIDEBAR_TAB)
        expect(tab).to_be_visible(timeout=90_000)
        self.page.wait_for_selector("#main.jp-LabShell", timeout=30_000)
        expect(self.notebook).to_be_visible(timeout=60_000)
        if "lm-mod-current" not in (tab.get_attribute("class") or ""):
            tab.click()
        expect(self.panel).to_be_visible()
        expect(self.panel.get_by_test_id("kale-server-version")).to_be_visible(timeout=30_000)
        expect(self.panel.get_by_test_id("kale-notebook")).to_be_visible(timeout=30_000)
        return self

    @property
    def panel(self) -> Locator:
        return self.page.locator("#kale-ext-panel")

    @property
    def notebook(self) -> Locator:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")

    def cell(self, index: int) -> Locator:
        return self.notebook.locator(".jp-Cell").nth(index)

    def cell_count(self) -> int:
        return self.notebook.locator(".jp-Cell").count()

    # --- Pipeline mode and the step editor -------------------------------------------------------------------------
    def set_pipeline_mode(self, on: bool) -> None:
        toggle = self.panel.get_by_test_id("kale-pipeline-mode")
        if toggle.is_checked() != on:
            toggle.click()
        expect(toggle).to_be_checked(checked=on)

    def step_editor(self, index: int) -> Locator:
        return self.cell(index).get_by_test_id("kale-step-editor")

    def add_code_cell_at_end(self, source: str) -> int:
        """Append a code cell below the last one through JupyterLab's keyboard commands; returns its index."""
        count = self.cell_count()
        self.cell(count - 1).locator(".jp-InputPrompt").first.click()
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("b")
        expect(self.notebook.locator(".jp-Cell")).to_have_count(count + 1)
        self.page.keyboard.press("Enter")
        self.page.keyboard.type(source)
        self.page.keyboard.press("Escape")
        return count

    def set_cell_kind(self, index: int, kind: str) -> None:
        self.step_editor(index).get_by_label("Cell kind").select_option(kind)

    def cell_role(self, index: int) -> tuple[str, str]:
        """The role and step the step editor of code cell `index` shows (from the analysis; "" while none)."""
        editor = self.step_editor(index)
        return editor.get_attribute("data-role") or "", editor.get_attribute("data-step") or ""

    def expect_cell_role(self, index: int, role: str, step: str = "") -> None:
        expect(self.step_editor(index)).to_have_attribute("data-role", role, timeout=15_000)
        expect(self.step_editor(index)).to_have_attribute("data-step", step)

    def step_name(self, index: int) -> Locator:
        return self.step_editor(index).get_by_label("Step name")

    def dependency_chips(self, index: int) -> Locator:
        return self.step_editor(index).locator(".jp-Kale-chip")

    def rename_step(self, index: int, name: str) -> None:
        box = self.step_editor(index).get_by_label("Step name")
        box.fill(name)
        box.press("Enter")

    def save(self) -> None:
        self.cell(0).locator(".jp-InputPrompt").first.click()
        self.page.keyboard.press("Control+s")

    # --- the DAG ---------------------------------------------------------------------------------------------------
    @property
    def dag(self) -> Locator:
        return self.panel.get_by_test_id("kale-dag")

    def dag_node(self, step: str) -> Locator:
        return self.dag.locator(f'g[data-step="{step}"]')

    def dag_edge(self, source: str, target: str) -> Locator:
        return self.dag.locator(f'g[data-edge="{source}->{target}"]')

    def dag_steps(self) -> list[str]:
        return self.dag.locator("g[data-step]").evaluate_all("els => els.map(e => e.dataset.step)")

    def dag_boxes(self, dag: Locator | None = None) -> dict[str, list[dict]]:
        """The boxes (getBBox, in the SVG's user units) of a DAG's edge labels and node rectangles, each with its text
        (a label's shown text, a node's step) and, for a label, its edge's tooltip."""
        return (dag or self.dag).evaluate(
            """svg => {
              const inverse = svg.getScreenCTM().inverse();
              const box = (el, name) => {
                const b = el.getBBox();
                const m = inverse.multiply(el.getScreenCTM());
                const a = new DOMPoint(b.x, b.y).matrixTransform(m);
                const z = new DOMPoint(b.x + b.width, b.y + b.height).matrixTransform(m);
                return {name, x: a.x, y: a.y, width: z.x - a.x, height: z.y - a.y};
              };
              const labels = Array.from(svg.querySelectorAll('g[data-edge] text.jp-Kale-dagEdgeLabel')).map(t => ({
                ...box(t, t.textContent),
                edge: t.closest('g[data-edge]').dataset.edge,
                tooltip: t.closest('g[data-edge]').querySelector('title').textContent,
              }));
              const nodes = Array.from(svg.querySelectorAll('g[data-step] > rect:first-child'))
                .map(r => box(r, r.parentElement.dataset.step));
              const dataEdges = Array.from(svg.querySelectorAll('g[data-edge] > path:not(.jp-mod-orderOnly)')).length;
              return {labels, nodes, dataEdges};
            }"""
        )

    @property
    def full_dag_panel(self) -> Locator:
        return self.page.locator("#jp-main-dock-panel .jp-Kale-dagPanel")

    @property
    def full_dag(self) -> Locator:
        return self.full_dag_panel.get_by_test_id("kale-dag-full")

    def open_full_dag(self) -> Locator:
        """Open (or bring to the front) the current notebook's DAG full size in the main area."""
        self.panel.get_by_role("button", name="Open the graph full size").click()
        expect(self.full_dag).to_be_visible(timeout=10_000)
        return self.full_dag

    def close_full_dag(self) -> None:
        tab = self.page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="(DAG)")
        tab.locator(".lm-TabBar-tabCloseIcon").click()
        expect(self.full_dag_panel).to_have_count(0)

    def close_modified_notebook(self, name: str) -> None:
        """Close the tab of a notebook with unsaved changes, discarding them."""
        tab = self.page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=re.compile(rf"^{re.escape(name)}$"))
        tab.locator(".lm-TabBar-tabCloseIcon").click()
        self.page.locator(".jp-Dialog").get_by_role("button", name="Discard").click()
        expect(tab).to_have_count(0)

    def parameter_names(self) -> list[dict]:
        """Per parameter of the Deploy form: its name as shown, the title, and whether any of it is cut off."""
        return (
            self.panel.get_by_test_id("kale-parameters")
            .locator(".jp-Kale-paramName")
            .evaluate_all(
                """els => els.map(e => {
              const box = e.getBoundingClientRect();
              const form = e.closest('fieldset').getBoundingClientRect();
              return {
                text: e.textContent, title: e.getAttribute('title'),
                fits: e.scrollWidth <= e.clientWidth && box.left >= form.left && box.right <= form.right,
              };
            })"""
            )
        )

    def start_timing_until_node(self, step: str) -> None:
        """In the page: remember when the next committed edit happens (Enter in a step-name box, or a kind change) and
        when the DAG first shows `step`; read with timing()."""
        self.page.evaluate(
            """(step) => {
              const t = window.__kaleTiming = {edit: null, dag: null};
              const onEdit = (e) => {
                if (t.edit === null && (e.type === 'change' || e.key === 'Enter')
                    && e.target.closest && e.target.closest('.jp-Kale-stepEditor')) { t.edit = performance.now(); }
              };
              document.addEventListener('keydown', onEdit, true);
              document.addEventListener('change', onEdit, true);
              const panel = document.getElementById('kale-ext-panel');
              const obs = new MutationObserver(() => {
                if (t.dag === null && panel.querySelector(`[data-testid="kale-dag"] g[data-step="${step}"]`)) {
                  t.dag = performance.now(); obs.disconnect();
                  document.removeEventListener('keydown', onEdit, true);
                  document.removeEventListener('change', onEdit, true);
                }
              });
              obs.observe(panel, {subtree: true, childList: true, attributes: true});
            }""",
            step,
        )

    def timing(self) -> float:
        t = self.page.evaluate("window.__kaleTiming")
        assert t["edit"] is not None and t["dag"] is not None, t
        return t["dag"] - t["edit"]

    # --- deploy and runs -------------------------------------------------------------------------------------------
    def run_locally(self) -> None:
        button = self.panel.get_by_role("button", name="Run locally", exact=True)
        expect(button).to_be_enabled(timeout=30_000)
        button.click()
        expect(self.run_detail).to_be_visible(timeout=30_000)

    def deploy_to(self, label: str) -> None:
        """Open the deploy menu and pick a backend ("Kubeflow Pipelines")."""
        self.panel.get_by_role("button", name="Deploy to…").click()
        item = self.panel.get_by_role("menuitem", name=label)
        expect(item).to_have_attribute("aria-disabled", "false", timeout=30_000)
        item.click()
        expect(self.run_detail).to_be_visible(timeout=30_000)

    @property
    def run_detail(self) -> Locator:
        return self.panel.get_by_test_id("kale-run-detail")

    def run_step(self, step: str) -> Locator:
        return self.run_detail.get_by_test_id("kale-run-steps").locator(f'li[data-step="{step}"]')

    def wait_run_finished(self, timeout: float = 90_000) -> str:
        expect(self.run_detail).to_have_attribute("data-status", _FINAL, timeout=timeout)
        return self.run_detail.get_attribute("data-status") or ""

    def open_log(self, step: str) -> Locator:
        self.run_step(step).get_by_role("button", name="Log").click()
        return self.run_step(step).get_by_test_id("kale-step-log")

    def active_cell_index(self) -> int:
        return self.notebook.evaluate(
            "nb => Array.from(nb.querySelectorAll('.jp-Cell')).findIndex(c => c.classList.contains('jp-mod-active'))"
        )

    # --- exploration and lineage -------------------------------------------------------------------------------
    def select_run(self, run_id: str) -> None:
        row = self.panel.locator(f'button.jp-Kale-runRow[data-run-id="{run_id}"]')
        expect(row).to_be_visible(timeout=30_000)
        if row.get_attribute("aria-pressed") != "true":
            row.click()
        expect(self.run_detail).to_have_attribute("data-run-id", run_id, timeout=30_000)

    def explore_step(self, step: str, outputs: bool = False) -> None:
        """ "Explore…" on a step of the open run, then "Open notebook" (its outputs too when asked)."""
        self.run_step(step).get_by_test_id("kale-step-explore").click()
        form = self.run_step(step).get_by_test_id("kale-explore-form")
        expect(form).to_be_visible()
        if outputs:
            form.get_by_test_id("kale-explore-outputs").check()
        form.get_by_test_id("kale-explore-open").click()
        expect(form).to_have_count(0, timeout=60_000)

    def notebook_tab(self, name_part: str) -> Locator:
        return self.page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=name_part)

    def cell_output(self, index: int) -> Locator:
        return self.cell(index).locator(".jp-OutputArea-output")

    def open_lineage(self) -> Locator:
        self.run_detail.get_by_test_id("kale-run-lineage-toggle").click()
        view = self.run_detail.get_by_test_id("kale-run-lineage")
        expect(view).to_be_visible(timeout=30_000)
        return view

    # --- serving: Serve… in a run, the Models panel ------------------------------------------------------------------
    def serve_from_step(self, step: str, name: str, variable: str | None = None, canary: int | None = None) -> Locator:
        """Serve a model step `step` of the open run bound; returns the "Serving …" message."""
        row = self.run_step(step)
        row.get_by_role("button", name="Serve…").click()
        self._fill_serve_form(row.get_by_test_id("kale-serve-form"), name, variable, canary)
        served = self.run_detail.get_by_test_id("kale-served")
        expect(served).to_be_visible(timeout=30_000)
        return served

    def _fill_serve_form(self, form: Locator, name: str, variable: str | None, canary: int | None) -> None:
        if variable is not None:
            form.get_by_label("Model variable").select_option(variable)
        form.get_by_label("Name").fill(name)
        form.get_by_label("Canary percent").fill("" if canary is None else str(canary))
        form.get_by_role("button", name="Serve", exact=True).click()

    @property
    def models_panel(self) -> Locator:
        return self.page.locator("#kale-ext-models")

    def open_models(self) -> Locator:
        tab = self.page.locator(MODELS_TAB)
        if "lm-mod-current" not in (tab.get_attribute("class") or ""):
            tab.click()
        expect(self.models_panel.get_by_test_id("kale-models")).to_be_visible(timeout=30_000)
        return self.models_panel

    def open_pipeline(self) -> None:
        tab = self.page.locator(SIDEBAR_TAB)
        if "lm-mod-current" not in (tab.get_attribute("class") or ""):
            tab.click()
        expect(self.panel).to_be_visible()

    def deploy_from_models_panel(self, name: str, variable: str, canary: int | None = None) -> None:
        """Deploy from the Models panel's "Deploy a model…" form (the newest succeeded run of the notebook)."""
        self.models_panel.get_by_role("button", name="Deploy a model…").click()
        form = self.models_panel.get_by_test_id("kale-deploy-model").get_by_test_id("kale-serve-form")
        expect(form).to_be_visible(timeout=30_000)
        self._fill_serve_form(form, name, variable, canary)
        expect(form).to_have_count(0, timeout=30_000)

    def model_card(self, name: str) -> Locator:
        return self.models_panel.locator(f'[data-testid="kale-model"][data-model="{name}"]')

    def traffic(self, name: str) -> dict[str, float]:
        """The traffic bar of a served model: {version: percent} as drawn."""
        return (
            self.model_card(name)
            .get_by_test_id("kale-traffic-bar")
            .evaluate(
                """bar => Object.fromEntries(Array.from(bar.querySelectorAll('[data-version]'))
                 .map(s => [s.dataset.version, Number(s.dataset.percent)]))"""
            )
        )

    def expect_traffic(self, name: str, traffic: dict[str, float]) -> None:
        bar = self.model_card(name).get_by_test_id("kale-traffic-bar")
        label = ", ".join(f"v{v} {p}%" for v, p in sorted(traffic.items(), key=lambda kv: int(kv[0])))
        expect(bar).to_have_attribute("aria-label", f"Traffic: {label}", timeout=30_000)

    def model_stat(self, name: str, stat: str) -> Locator:
        """One figure of a served model: "rate", "p50", "p99" or "errors"."""
        return self.model_card(name).get_by_test_id(f"kale-model-{stat}")

    def version_row(self, name: str, version: str) -> Locator:
        return self.model_card(name).get_by_test_id("kale-model-versions").locator(f'li[data-version="{version}"]')

    def model_action(self, name: str, action: str) -> None:
        """Click Promote, Rollback or Stop on a served model."""
        self.model_card(name).get_by_role("button", name=action, exact=True).click()

    def curl(self, name: str) -> str:
        return self.model_card(name).get_by_test_id("kale-model-curl").inner_text()

    def set_theme(self, name: str) -> None:
        """Switch JupyterLab's theme through the Settings menu (e.g. "JupyterLab Dark")."""
        self.page.get_by_role("menuitem", name="Settings", exact=True).click()
        self.page.locator(".lm-Menu-item", has_text="Theme").first.hover()
        self.page.locator(".lm-Menu-item", has_text=name).first.click()

    # --- tuning: the Tuning view of the Pipeline panel -----------------------------------------------------------------
    @property
    def tuning(self) -> Locator:
        return self.panel.get_by_test_id("kale-tuning")

    def open_tuning(self) -> Locator:
        toggle = self.tuning.get_by_test_id("kale-tuning-toggle")
        expect(toggle).to_be_visible(timeout=30_000)
        if toggle.get_attribute("aria-expanded") != "true":
            toggle.click()
        expect(self.tuning_form).to_be_visible(timeout=30_000)
        return self.tuning

    @property
    def tuning_form(self) -> Locator:
        return self.tuning.get_by_test_id("kale-tuning-form")

    def tuning_param(self, name: str) -> Locator:
        return self.tuning_form.locator(f'[data-testid="kale-tuning-param"][data-name="{name}"]')

    def tune_parameter(self, name: str, type_: str, **fields: str) -> None:
        """Tick a parameter, pick its type and type its fields (min, max, step, values) into the form."""
        row = self.tuning_param(name)
        box = row.get_by_label(f"Tune {name}")
        if not box.is_checked():
            box.check()
        row.get_by_label(f"Type of {name}").select_option(type_)
        for field, value in fields.items():
            self.tuning_field(name, field).fill(value)

    def tuning_field(self, name: str, field: str) -> Locator:
        return self.tuning_param(name).get_by_label(f"{field} of {name}", exact=True)

    def field_error(self, field: Locator) -> Locator:
        """The message shown beside a form field (in the same label)."""
        return field.locator("xpath=ancestor::label[1]").locator(".jp-Kale-fieldError")

    @property
    def experiment(self) -> Locator:
        return self.tuning.get_by_test_id("kale-experiment")

    def trial_rows(self) -> Locator:
        return self.experiment.get_by_test_id("kale-trials").locator("tbody tr")

    def screenshot(self, path: Path) -> None:
        self.page.screenshot(path=str(path))


_FINAL = re.compile(r"^(succeeded|failed|cancelled|interrupted)$")
