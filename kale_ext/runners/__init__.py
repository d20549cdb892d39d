"""Runners execute a pipeline: ``base.Runner`` is the interface, ``local.LocalRunner`` the embedded default.

The names below load on first use, so that the local runner's zygote (``python -m kale_ext.runners.local.zygote``,
on the critical path of every run) does not import the interface. Never imports tornado or jupyter_server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Runner, RunnerError, RunOptions

__all__ = ["RunOptions", "Runner", "RunnerError"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
