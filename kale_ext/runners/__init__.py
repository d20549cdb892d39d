"""Runners execute a pipeline: ``base.Runner`` is the interface, ``local.LocalRunner`` the embedded default.

Never imports tornado or jupyter_server.
"""

from .base import Runner, RunnerError, RunOptions

__all__ = ["RunOptions", "Runner", "RunnerError"]
