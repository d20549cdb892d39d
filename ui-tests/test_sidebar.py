"""The Pipeline sidebar opens in a real JupyterLab and shows the server extension's version."""

import re

from playwright.sync_api import expect

import kale_ext

INFO_URL = re.compile(r".*/kale/v1/info(\?.*)?$")  # ServerConnection adds a cache-busting query to GETs
SIDEBAR_TAB = '.jp-SideBar.jp-mod-left li[data-id="kale-ext-panel"]'


def open_panel(page, jupyter_lab):
    """Open JupyterLab and make the Pipeline panel visible (the restored workspace may already show it)."""
    page.goto(f"{jupyter_lab['base']}/lab?token={jupyter_lab['token']}")
    tab = page.locator(SIDEBAR_TAB)
    expect(tab).to_be_visible(timeout=90_000)
    page.wait_for_selector("#main.jp-LabShell", timeout=30_000)
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    panel = page.locator("#kale-ext-panel")
    expect(panel).to_be_visible()
    return panel


def test_sidebar_shows_server_version(page, jupyter_lab, artifacts):
    panel = open_panel(page, jupyter_lab)
    expect(panel.get_by_role("heading", name="Pipeline")).to_be_visible()
    expect(panel.get_by_test_id("kale-server-version")).to_have_text(kale_ext.__version__, timeout=30_000)
    page.screenshot(path=str(artifacts / "sidebar-version.png"))


def test_api_refuses_requests_without_token(page, jupyter_lab):
    response = page.request.get(f"{jupyter_lab['base']}/kale/v1/info")
    assert response.status in (401, 403)
    assert page.request.get(f"{jupyter_lab['base']}/kale/v1/info?token={jupyter_lab['token']}").ok


def test_missing_server_extension_gets_a_clear_message(page, jupyter_lab, artifacts):
    page.route(INFO_URL, lambda route: route.fulfill(status=404, body="Not Found"))
    panel = open_panel(page, jupyter_lab)
    alert = panel.get_by_role("alert")
    expect(alert).to_contain_text("server extension is not running", timeout=30_000)
    expect(alert).to_contain_text("jupyter server extension enable kale_ext")
    page.screenshot(path=str(artifacts / "sidebar-server-missing.png"))


def test_version_mismatch_gets_a_clear_message(page, jupyter_lab, artifacts):
    body = '{"version": "99.0.0", "api_version": "1", "capabilities": []}'
    page.route(
        INFO_URL,
        lambda route: route.fulfill(status=200, body=body, headers={"Content-Type": "application/json"}),
    )
    panel = open_panel(page, jupyter_lab)
    alert = panel.get_by_role("alert")
    expect(alert).to_contain_text("99.0.0", timeout=30_000)
    expect(alert).to_contain_text(kale_ext.__version__)
    page.screenshot(path=str(artifacts / "sidebar-version-mismatch.png"))


def test_settings_schema_is_served_to_the_settings_editor(page, jupyter_lab):
    url = f"{jupyter_lab['base']}/lab/api/settings/kale_ext:plugin?token={jupyter_lab['token']}"
    response = page.request.get(url)
    assert response.ok, response.status
    schema = response.json()["schema"]
    assert schema["title"] == "Kale pipelines"
    assert {"analysisDelay", "maxParallel"} <= set(schema["properties"])
