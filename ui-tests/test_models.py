"""Serving from the sidebar against the real stack: the ServingManager, the model export and the local model server.

A run of examples/wine_classification.ipynb; Serve… on train_lr's step; V1 predict requests over real HTTP to the model
server's URL (urllib, as any client); the Models panel shows their rate and latencies; a second version (gb) under the
same name with a 10 % canary, measured over 1,000 requests; promote; stop. Screenshots go to artifacts/.

It needs the serving parts (kale_ext.serving.manager, the inference server) and skips cleanly without them;
ui-tests/test_models_panel.py proves the panel itself against the REST resources with a test double meanwhile.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("kale_ext.serving.manager", reason="the serving manager (issue 10, part serve-models) is not here")

from conftest import REPO_ROOT, _free_port, running_lab  # noqa: E402
from pages import KalePage  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

WINE = REPO_ROOT / "examples" / "wine_classification.ipynb"


@pytest.fixture(scope="module")
def real_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("kale-ui-serving")
    port = _free_port()  # not 8080: other model servers may run on this machine
    with running_lab(root, (f"--KaleExtApp.serving_port={port}",), name="server-serving") as lab:
        lab["serving_port"] = port
        try:
            yield lab
        finally:  # the model server outlives JupyterLab by design: stop it
            try:
                _kale(lab, "models", method="DELETE")
            except urllib.error.URLError:
                pass


def _kale(lab: dict, path: str, method: str = "GET") -> dict | None:
    sep = "&" if "?" in path else "?"
    url = f"{lab['base']}/kale/v1/{path}{sep}notebook=wine.ipynb"
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"token {lab['token']}"})
    with urllib.request.urlopen(request, timeout=30) as r:
        body = r.read()
    return json.loads(body) if body else None


def _post_json(url: str, body: dict) -> tuple[int, dict]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _model_url(url: str, name: str) -> str:
    """The V1 URL of a model from the URL the manager reports (the model's own, or the server's), as the panel does."""
    url = url.rstrip("/")
    return url if re.search(r"/v1/models/[^/]+$", url) else f"{url}/v1/models/{name}"


def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not become ready")
        time.sleep(0.2)


def _requests_by_version(lab: dict) -> dict[str, int]:
    [model] = [m for m in _kale(lab, "models")["models"] if m["name"] == "wine"]
    return {v["version"]: v["metrics"].get("requests", 0) for v in model["versions"]}


def test_serve_from_a_run_send_requests_canary_promote_stop(page, real_lab, artifacts):
    from sklearn.datasets import load_wine

    rows = load_wine().data.tolist()
    shutil.copy(WINE, real_lab["root"] / "wine.ipynb")
    kale = KalePage(page, real_lab).open_notebook("wine.ipynb")
    kale.run_locally()
    assert kale.wait_run_finished(timeout=180_000) == "succeeded"

    served = kale.serve_from_step("train_lr", name="wine")
    expect(served).to_contain_text(f"Serving wine v1 at http://127.0.0.1:{real_lab['serving_port']}")
    [model] = _kale(real_lab, "models")["models"]
    model_url = _model_url(model["url"], "wine")
    predict = model_url + ":predict"
    _wait_ready(model_url)

    for i in range(200):
        status, answer = _post_json(predict, {"instances": rows[i % (len(rows) - 1) : i % (len(rows) - 1) + 2]})
        assert status == 200 and len(answer["predictions"]) == 2, answer
    kale.open_models()
    card = kale.model_card("wine")
    expect(card).to_have_attribute("data-status", "ready", timeout=30_000)
    expect(kale.model_stat("wine", "p50")).not_to_have_text("–", timeout=30_000)
    expect(kale.model_stat("wine", "rate")).not_to_have_text("0 req/s", timeout=30_000)
    expect(kale.model_stat("wine", "errors")).to_contain_text("0 of ")
    status, answer = _post_json(predict, json.loads(kale.curl("wine").split(" -d '")[1].split("' '")[0]))
    assert status == 200 and len(answer["predictions"]) == 1  # the panel's curl body is a valid request
    page.screenshot(path=str(artifacts / "serving-panel-v1.png"))

    kale.deploy_from_models_panel("wine", variable="gb", canary=10)
    kale.expect_traffic("wine", {"1": 90, "2": 10})
    _wait_ready(f"{model_url.replace('/v1/', '/v2/')}/versions/2/ready")
    before = _requests_by_version(real_lab)
    for i in range(1000):
        status, _ = _post_json(predict, {"instances": [rows[i % len(rows)]]})
        assert status == 200
    after = _requests_by_version(real_lab)
    canary = after["2"] - before.get("2", 0)
    total = canary + after["1"] - before["1"]
    assert total >= 1000 and abs(canary / total - 0.10) <= 0.03, (before, after)
    expect(kale.version_row("wine", "2")).to_contain_text("train_gb.gb")
    expect(kale.version_row("wine", "2")).not_to_contain_text("p50 –", timeout=30_000)
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "serving-panel-canary.png"))

    kale.model_action("wine", "Promote")
    kale.expect_traffic("wine", {"2": 100})
    kale.model_action("wine", "Stop")
    expect(card).to_have_count(0, timeout=30_000)
    kale.models_panel.get_by_role("button", name="Stop server").click()
    expect(kale.models_panel.get_by_test_id("kale-model-server")).to_contain_text(
        re.compile("No model server runs|stopped"), timeout=30_000
    )
    with pytest.raises(OSError):
        urllib.request.urlopen(model_url, timeout=5)
    page.screenshot(path=str(artifacts / "serving-panel-stopped.png"))
