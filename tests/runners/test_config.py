"""LocalRunner is a traitlets Configurable: config, keyword arguments and today's environment variables as defaults."""

from __future__ import annotations

import os

import pytest
from traitlets import TraitError
from traitlets.config import Config

from kale_ext.runners.base import Runner
from kale_ext.runners.local import LocalRunner
from kale_ext.store import Store


def test_traits_come_from_config_and_have_help():
    config = Config({"LocalRunner": {"max_processes": 5, "max_parallel": 3, "launcher": "subprocess"}})
    runner = LocalRunner(config=config)
    assert (runner.max_processes, runner.slots.size, runner.max_parallel) == (5, 5, 3)
    assert runner.launcher == "subprocess" and not runner.use_fork
    for name in ("store_dir", "launcher", "max_parallel", "max_processes"):
        trait = runner.traits()[name]
        assert trait.metadata.get("config") is True and len(trait.help) > 40, name
    assert isinstance(runner, Runner) and runner.capabilities() == ["runs", "runner:local"]


def test_defaults_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)
    monkeypatch.delenv("KALE_EXT_NO_FORK", raising=False)
    runner = LocalRunner()
    assert runner.store_dir == "" and runner.launcher == ("fork" if hasattr(os, "fork") else "subprocess")
    assert runner.max_parallel == runner.max_processes == (os.cpu_count() or 1)
    nb = tmp_path / "sub" / "nb.ipynb"
    nb.parent.mkdir()
    assert runner.store_for(str(nb)).folder == str(tmp_path / "sub" / ".kale")

    monkeypatch.setenv("KALE_EXT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KALE_EXT_NO_FORK", "1")
    runner = LocalRunner()
    assert runner.store_dir == str(tmp_path / "home") and runner.launcher == "subprocess"
    assert runner.store_for(str(nb)).folder == str(tmp_path / "home")


def test_keyword_arguments_of_the_cli_and_the_tests_keep_working(tmp_path):
    store = Store(str(tmp_path / ".kale"))
    runner = LocalRunner(store, use_fork=False, cancel_signal="SIGTERM", max_processes=2)
    assert runner.store is store and runner.launcher == "subprocess" and runner.cancel_signal == "SIGTERM"
    assert runner.store_for(str(tmp_path / "elsewhere" / "nb.ipynb")) is store
    assert LocalRunner(use_fork=True).launcher == "fork"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_processes": 0}, "max_processes must be at least 1"),
        ({"max_parallel": -1}, "max_parallel must be at least 1"),
        ({"launcher": "thread"}, "launcher"),
        ({"cancel_signal": "SIGNOPE"}, "cancel_signal must name a signal"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(TraitError, match=message):
        LocalRunner(**kwargs)
