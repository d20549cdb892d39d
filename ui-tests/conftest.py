"""Browser tests: a real JupyterLab with kale_ext, driven by Playwright in Debian's Chromium.

Run separately from tests/ (pytest-jupyter's event-loop fixture breaks Playwright's sync API):
    python -m pytest ui-tests
Screenshots are written to ui-tests/artifacts/ (override with KALE_UI_ARTIFACTS).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
ARTIFACTS = Path(os.environ.get("KALE_UI_ARTIFACTS", HERE / "artifacts"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/lib/chromium/chromium"):
        if candidate and os.path.exists(candidate):
            return candidate
    pytest.exit("Debian's chromium is not installed: run `apt-get install -y chromium` (or set CHROMIUM_PATH)", 2)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": _chromium(), "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab_root():
    root = Path(tempfile.mkdtemp(prefix="kale-ui-root-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def fake_kfp():
    """The loopback fake KFP API of tests/runners/kfp (None without the kfp extra): the server's KfpRunner host."""
    try:
        import kfp  # noqa: F401

        sys.path.insert(0, str(REPO_ROOT))
        from tests.runners.kfp.fake_kfp import FakeKfp
    except ImportError:
        yield None
        return
    fake = FakeKfp(token=secrets.token_hex(8)).start()
    yield fake
    fake.stop()


@contextlib.contextmanager
def running_lab(
    root: Path,
    extra_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
    name: str = "server",
    fake_kfp=None,
):
    """A JupyterLab server with authentication on (a random token), private settings and workspaces, serving
    ``root``; ``extra_args`` are added to its command line (e.g. ``--config=FILE``), ``extra_env`` to its environment;
    with ``fake_kfp``, its Kubeflow Pipelines backend points at that fake KFP API; with KALE_UI_KEEP_LOG set its log
    is kept as artifacts/NAME.log. Yields {"base", "token", "root", "log", "kfp"}."""
    state = Path(tempfile.mkdtemp(prefix="kale-ui-state-"))
    settings = state / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port, token = _free_port(), secrets.token_hex(16)
    log = open(state / "server.log", "wb")
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={state / 'settings'}", f"--LabApp.workspaces_dir={state / 'workspaces'}",
        *extra_args,
    ]  # fmt: skip
    if fake_kfp is not None:
        (state / "kfp-token").write_text(fake_kfp.token or "")
        cmd += [
            f"--KfpRunner.host={fake_kfp.url}", f"--KfpRunner.token_path={state / 'kfp-token'}",
            "--KfpRunner.poll_interval=0.3",
        ]  # fmt: skip
    env = dict(os.environ)
    env.pop("KALE_EXT_HOME", None)  # runs are stored in .kale/ beside the test notebooks
    env.pop("KF_PIPELINES_ENDPOINT", None)  # the KFP host is what the fixture configures, or none
    env.update(extra_env or {})
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail("JupyterLab did not start:\n" + (state / "server.log").read_text()[-3000:])
        time.sleep(0.3)
    try:
        yield {"base": base, "token": token, "root": root, "log": state / "server.log", "kfp": fake_kfp}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if os.environ.get("KALE_UI_KEEP_LOG"):
            shutil.copy(state / "server.log", ARTIFACTS / f"{name}.log")
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def jupyter_lab(lab_root):
    """The JupyterLab server most browser tests share (no Kubeflow Pipelines host: its deploy entry is disabled,
    with the reason)."""
    with running_lab(lab_root) as lab:
        yield lab


@pytest.fixture(scope="session")
def kfp_lab(fake_kfp):
    """A second JupyterLab, whose KfpRunner host is the loopback fake KFP API (skips without the kfp extra)."""
    if fake_kfp is None:
        pytest.skip("the kfp extra is not installed (pip install 'kale-ext[kfp]')")
    root = Path(tempfile.mkdtemp(prefix="kale-ui-kfp-root-"))
    with running_lab(root, name="kfp-server", fake_kfp=fake_kfp) as lab:
        yield lab
    shutil.rmtree(root, ignore_errors=True)
