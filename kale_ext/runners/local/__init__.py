"""The local runner: runs a pipeline on this machine, every step in its own process, independent branches in parallel.

``runner.py`` (LocalRunner, the Runner API over the store), ``driver.py`` (one run's scheduling thread),
``slots.py`` (the runner-wide pool of step processes), ``inflight.py`` (one execution at a time per cache key), ``launchers.py`` (a warm zygote that forks per step, or a fresh
interpreter per step), ``zygote.py`` (the warm process itself), ``randomstate.py`` (the random state a forked step gets),
``identity.py`` (which process drives a run; the store imports it).

The names below are loaded on first use, so that the store (which imports ``identity``) and the zygote (started as
``python -m kale_ext.runners.local.zygote``) do not pull in the runner and its store. Never imports tornado or
jupyter_server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import LocalRunner, read_text

__all__ = ["LocalRunner", "read_text"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
