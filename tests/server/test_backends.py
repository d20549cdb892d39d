"""Backends are Configurables built with the server's config; GET info's capabilities come from the backend."""

from __future__ import annotations

import json

import pytest

from kale_ext.runners.local import LocalRunner
from kale_ext.server.runs import RUNNER_SETTING


class RecordingRunner(LocalRunner):
    """A peer backend as a later one would plug in: by configuration, with its own capabilities."""

    name = "recording"

    def capabilities(self) -> list[str]:
        return [*super().capabilities(), "recording:replay"]


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"kale_ext": True}, "allow_unauthenticated_access": False},
        "KaleExtApp": {"runner_class": f"{__name__}.RecordingRunner"},
        "LocalRunner": {"max_processes": 3, "max_parallel": 2, "launcher": "subprocess"},
    }


async def test_the_configured_backend_is_built_with_the_config_and_answers_the_capabilities(jp_fetch, jp_serverapp):
    body = json.loads((await jp_fetch("kale", "v1", "info")).body)
    assert body["capabilities"] == ["analyze", "runs", "runner:recording", "recording:replay", "models", "experiments"]
    runner = jp_serverapp.web_app.settings[RUNNER_SETTING]
    assert type(runner) is RecordingRunner
    assert (runner.max_processes, runner.slots.size, runner.max_parallel, runner.launcher) == (3, 3, 2, "subprocess")
