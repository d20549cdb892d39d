"""The Models panel in a real JupyterLab, against the REST resources with the serving manager's test double.

Until the serving parts are merged there is no model server in this tree; the server is configured as an admin would
configure another manager (``c.KaleExtApp.serving_manager_class`` in a config file) with tests/serving_double.py, which
keeps the contract's behaviour over the real run store: a real run of examples/wine_classification.ipynb, Serve… on
its step, a canary version deployed from the panel, promote and stop. The model server's request log is written here in
its line format (as the server would), and the panel must show the rate, latencies and errors computed from it.
Screenshots (light and dark) go to artifacts/. ui-tests/test_models.py is the same workflow against the real stack.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, running_lab
from pages import KalePage
from playwright.sync_api import expect

WINE = REPO_ROOT / "examples" / "wine_classification.ipynb"
DOUBLE = "tests.serving_double.FakeServingManager"


@pytest.fixture(scope="module")
def serving_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("kale-ui-models")
    config = tmp_path_factory.mktemp("kale-ui-config") / "jupyter_server_config.py"
    config.write_text(f"c.KaleExtApp.serving_manager_class = {DOUBLE!r}\nc.KaleExtApp.serving_port = 18765\n")
    env = {"PYTHONPATH": f"{REPO_ROOT}:{os.environ.get('PYTHONPATH', '')}".rstrip(":")}
    with running_lab(root, (f"--config={config}",), env, name="server-models-panel") as lab:
        yield lab


def _luminance(css_color: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def write_requests(root: Path, model: str, version: str, latencies_ms: list[float], status: int = 200) -> None:
    """Append lines to the model server's request log as it writes them: TIME MODEL VERSION PROTOCOL METHOD PATH
    STATUS LATENCY_MS."""
    log = root / ".kale" / "serving" / "requests.log"
    now = time.time()
    with log.open("a") as f:
        for i, ms in enumerate(latencies_ms):
            f.write(f"{now - 0.01 * i:.3f} {model} {version} v1 POST /v1/models/{model}:predict {status} {ms}\n")


def test_serve_from_a_run_see_the_figures_canary_promote_and_stop(page, serving_lab, artifacts):
    shutil.copy(WINE, serving_lab["root"] / "wine.ipynb")
    kale = KalePage(page, serving_lab).open_notebook("wine.ipynb")
    kale.run_locally()
    assert kale.wait_run_finished(timeout=180_000) == "succeeded"

    # Serve… appears on the steps that bound a model, and only there.
    for step in ("train_rf", "train_gb", "train_lr"):
        expect(kale.run_step(step).get_by_role("button", name="Serve…")).to_be_visible(timeout=30_000)
    expect(kale.run_step("preprocess").get_by_role("button", name="Serve…")).to_have_count(0)
    served = kale.serve_from_step("train_lr", name="wine")
    expect(served).to_contain_text("Serving wine v1 at http://127.0.0.1:18765/v1/models/wine (v1 100%)")
    page.screenshot(path=str(artifacts / "models-serve-from-run.png"))

    kale.open_models()
    card = kale.model_card("wine")
    expect(card).to_have_attribute("data-status", "ready", timeout=30_000)
    kale.expect_traffic("wine", {"1": 100})
    expect(kale.models_panel.get_by_test_id("kale-model-server")).to_contain_text("http://127.0.0.1:18765")
    curl = kale.curl("wine")
    assert "'http://127.0.0.1:18765/v1/models/wine:predict'" in curl
    assert '{"instances":[[' + ",".join(["0"] * 13) + "]]}" in curl  # the wine data's 13 features

    # 20 requests (1..20 ms, one of them an error) as the model server logs them: 2 req/s over its 10 s window.
    write_requests(serving_lab["root"], "wine", "1", [float(ms) for ms in range(1, 20)])
    write_requests(serving_lab["root"], "wine", "1", [20.0], status=500)
    expect(kale.model_stat("wine", "errors")).to_have_text("1 of 20", timeout=30_000)
    expect(kale.model_stat("wine", "rate")).to_have_text("2 req/s")
    expect(kale.model_stat("wine", "p50")).to_have_text("10.0 ms")
    expect(kale.model_stat("wine", "p99")).to_have_text("20.0 ms")
    expect(card.get_by_test_id("kale-model-requests").locator("li")).to_have_count(8)
    expect(card.get_by_test_id("kale-model-requests").locator("li.jp-mod-error")).to_have_count(1)

    # A second version of the same name, from the panel, with 10 % of the traffic.
    kale.deploy_from_models_panel("wine", variable="gb", canary=10)
    kale.expect_traffic("wine", {"1": 90, "2": 10})
    expect(kale.version_row("wine", "2")).to_contain_text("train_gb.gb")
    expect(kale.version_row("wine", "1").get_by_test_id("kale-version-traffic")).to_have_text("90%")
    assert kale.traffic("wine") == {"1": 90, "2": 10}
    bar = card.get_by_test_id("kale-traffic-bar").bounding_box()
    canary = card.locator('[data-testid="kale-traffic-bar"] [data-version="2"]').bounding_box()
    assert bar and canary and abs(canary["width"] / bar["width"] - 0.10) < 0.01  # the bar draws the split
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "models-panel-canary.png"))
    kale.set_theme("JupyterLab Dark")
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false", timeout=15_000)
    expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=15_000)
    page.wait_for_timeout(500)  # the theme's stylesheet swap settles
    assert _luminance(card.evaluate("e => getComputedStyle(e.closest('.jp-Kale-sidebar')).backgroundColor")) < 0.3
    page.screenshot(path=str(artifacts / "models-panel-canary-dark.png"))
    kale.set_theme("JupyterLab Light")
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "true", timeout=15_000)
    expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=15_000)

    kale.model_action("wine", "Promote")
    kale.expect_traffic("wine", {"2": 100})
    expect(card.get_by_role("button", name="Promote")).to_be_disabled()
    kale.model_action("wine", "Stop")
    expect(card).to_have_count(0, timeout=30_000)
    expect(kale.models_panel).to_contain_text("No model is served.")
    kale.models_panel.get_by_role("button", name="Stop server").click()
    expect(kale.models_panel.get_by_test_id("kale-model-server")).to_contain_text("No model server runs")
    page.screenshot(path=str(artifacts / "models-panel-stopped.png"))
