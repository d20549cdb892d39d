"""pytest-jupyter's server fixtures, with kale_ext enabled and authentication on.

The plugin is declared here and not in a root conftest: its autouse event-loop fixture breaks the Playwright suite in
ui-tests/, which runs as a separate pytest invocation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture
def jp_server_config(jp_server_config):
    return {"ServerApp": {"jpserver_extensions": {"kale_ext": True}, "allow_unauthenticated_access": False}}
