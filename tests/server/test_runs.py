"""REST resources of local runs with pytest-jupyter's jp_fetch (authentication on)."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import HTTPClientError

from tests.notebooks import make_notebook as _nb


@pytest.fixture(autouse=True)
def _stores_beside_the_notebooks(monkeypatch):
    """Runs are recorded in .kale/ beside each notebook, inside the test's server root."""
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)


NOTEBOOK = _nb(
    (["pipeline-parameters"], "N = 3"),
    (["step:make"], "import time\nvalues = list(range(N))\nprint('made', len(values))\ntime.sleep(0.3)"),
    (["step:total", "prev:make"], "total = sum(values)"),
    (["pipeline-metrics"], "print(total)"),
)


async def fetch_json(jp_fetch, *parts, **kw):
    return json.loads((await jp_fetch("kale", "v1", *parts, **kw)).body)


async def wait_done(jp_fetch, run_id, timeout=60):
    for _ in range(int(timeout / 0.1)):
        run = await fetch_json(jp_fetch, "runs", run_id)
        if run["status"] not in ("queued", "running"):
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


async def test_create_answers_202_at_once_then_run_completes(jp_fetch, jp_root_dir):
    (jp_root_dir / "sub").mkdir()
    (jp_root_dir / "sub" / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    response = await jp_fetch(
        "kale", "v1", "runs", method="POST", body=json.dumps({"path": "sub/nb.ipynb", "parameters": {"N": 5}})
    )
    assert response.code == 202
    created = json.loads(response.body)
    assert created["status"] in ("queued", "running") and created["path"] == "sub/nb.ipynb"
    assert response.headers["Location"].endswith("/runs/" + created["run_id"])
    run = await wait_done(jp_fetch, created["run_id"])
    assert run["status"] == "succeeded" and run["metrics"] == {"total": 10}
    assert (jp_root_dir / "sub" / ".kale" / "kale.db").exists()

    log = await fetch_json(jp_fetch, "runs", created["run_id"], "steps", "make", "log", params={"offset": 0})
    assert log["text"] == "made 5\n" and log["status"] == "succeeded"
    rest = await fetch_json(
        jp_fetch, "runs", created["run_id"], "steps", "make", "log", params={"offset": log["next_offset"]}
    )
    assert rest["text"] == ""

    listing = await fetch_json(jp_fetch, "runs", params={"notebook": "sub/nb.ipynb"})
    assert [r["run_id"] for r in listing["runs"]] == [created["run_id"]]


async def test_live_notebook_content_is_run_and_file_untouched(jp_fetch, jp_root_dir):
    saved = json.dumps(_nb((["step:a"], "x = 1")))
    (jp_root_dir / "nb.ipynb").write_text(saved)
    body = {"path": "nb.ipynb", "notebook": NOTEBOOK, "use_cache": False}
    created = await fetch_json(jp_fetch, "runs", method="POST", body=json.dumps(body))
    run = await wait_done(jp_fetch, created["run_id"])
    assert [s["name"] for s in run["steps"]] == ["make", "total"]
    assert (jp_root_dir / "nb.ipynb").read_text() == saved


async def test_cancel_stops_a_running_run(jp_fetch, jp_root_dir):
    (jp_root_dir / "slow.ipynb").write_text(json.dumps(_nb((["step:slow"], "import time\ntime.sleep(60)"))))
    created = await fetch_json(jp_fetch, "runs", method="POST", body=json.dumps({"path": "slow.ipynb"}))
    for _ in range(100):
        run = await fetch_json(jp_fetch, "runs", created["run_id"])
        if run["steps"][0]["status"] == "running":
            break
        await asyncio.sleep(0.1)
    cancelled = await fetch_json(jp_fetch, "runs", created["run_id"], "cancel", method="POST", body="")
    assert cancelled["status"] == "cancelled" and cancelled["steps"][0]["status"] == "cancelled"


async def test_string_parameter_values_are_parsed_as_on_the_command_line(jp_fetch, jp_root_dir):
    notebook = _nb(
        (["pipeline-parameters"], "N = 3\nMODE = 'x'"),
        (["step:make"], "count = len(list(range(N)))\nlabel = MODE + '!'"),
        (["pipeline-metrics"], "print(count)\nprint(label)"),
    )
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(notebook))
    body = {"path": "nb.ipynb", "parameters": {"N": "5", "MODE": "'boom'"}}
    created = await fetch_json(jp_fetch, "runs", method="POST", body=json.dumps(body))
    run = await wait_done(jp_fetch, created["run_id"])
    assert run["status"] == "succeeded", run
    assert run["parameters"] == {"N": 5, "MODE": "boom"} and run["metrics"] == {"count": 5, "label": "boom!"}


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"path": "nb.ipynb", "parameters": {"NOPE": 1}}, 400, "parameter.invalid"),
        ({"path": "nb.ipynb", "parameters": {"N": "three"}}, 400, "parameter.invalid"),
        ({"path": "nb.ipynb", "use_cache": "yes"}, 400, "request.field"),
        ({"path": "nb.ipynb", "max_parallel": 0}, 400, "run.invalid"),
        ({"path": "../outside.ipynb"}, 403, "path.forbidden"),
        ({}, 400, "path.invalid"),
    ],
)
async def test_bad_requests_are_4xx_json(jp_fetch, jp_root_dir, body, status, code):
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("kale", "v1", "runs", method="POST", body=json.dumps(body))
    assert info.value.code == status
    assert json.loads(info.value.response.body)["code"] == code


async def test_unknown_run_and_step_are_404(jp_fetch, jp_root_dir):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("kale", "v1", "runs", "20990101-000000-abcdef")
    assert info.value.code == 404
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    created = await fetch_json(jp_fetch, "runs", method="POST", body=json.dumps({"path": "nb.ipynb"}))
    await wait_done(jp_fetch, created["run_id"])
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("kale", "v1", "runs", created["run_id"], "steps", "nope", "log")
    assert info.value.code == 404


async def test_run_routes_require_authentication(jp_fetch):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("kale", "v1", "runs", headers={"Authorization": ""})
    assert info.value.code == 403


async def test_cancel_of_a_run_driven_by_a_kale_ext_run_process(jp_fetch, jp_root_dir):
    """The sidebar's Cancel of a CLI run: the server signals the verified `kale-ext run` driver, which cancels it."""
    import subprocess
    import sys

    (jp_root_dir / "cli.ipynb").write_text(json.dumps(_nb((["step:slow"], "import time\ntime.sleep(60)"))))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kale_ext", "run", "cli.ipynb"],
        cwd=jp_root_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run = None
        for _ in range(600):
            runs = (await fetch_json(jp_fetch, "runs", params={"notebook": "cli.ipynb"}))["runs"]
            if runs and runs[0]["steps"].get("running"):
                run = runs[0]
                break
            assert proc.poll() is None, proc.stderr.read()
            await asyncio.sleep(0.1)
        assert run is not None, "the CLI's run never started"
        cancelled = await fetch_json(jp_fetch, "runs", run["run_id"], "cancel", method="POST", body="")
        assert cancelled["status"] == "cancelled" and cancelled["steps"][0]["status"] == "cancelled"
        for _ in range(300):
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        assert proc.returncode == 1
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
