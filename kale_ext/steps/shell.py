"""IPython inside a step: ``get_ipython()`` answers a minimal InteractiveShell over the step's namespace, so that %time,
%%capture, %matplotlib and !cmd run as they do in a kernel.

The shell is created on the first call of ``get_ipython`` (a step without magics never imports IPython's shell); the
warm launcher creates it before forking when any cell of the run needs it (``uses_shell``). The source transform itself
lives in kale_ext/notebook/ipython.py, shared with the analysis. Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import types
from typing import Any

from ..notebook.ipython import transform


def uses_shell(sources: list[str]) -> bool:
    """Whether any of the cells calls into IPython once transformed (magics, !cmd): a shell is then worth preparing."""
    return any("get_ipython" in transform(s) for s in sources)


def install_shell_factory(module: types.ModuleType) -> None:
    """Bind ``get_ipython`` in the namespace to a function creating the InteractiveShell on first call."""

    def get_ipython() -> Any:  # mirrors IPython's builtin
        return make_shell(module)

    module.__dict__.setdefault("get_ipython", get_ipython)


def make_shell(module: types.ModuleType) -> Any:
    """A non-interactive InteractiveShell whose user namespace is the step's namespace (no history file)."""
    from IPython.core.interactiveshell import InteractiveShell

    if InteractiveShell.initialized():
        return InteractiveShell.instance()
    from traitlets.config import Config

    class StepShell(InteractiveShell):
        def enable_gui(self, gui: Any = None) -> None:
            """A step has no GUI event loop: `%matplotlib inline/agg` just selects the backend."""
            return None

    config = Config()
    config.HistoryManager.enabled = False
    shell = StepShell.instance(config=config, user_module=module)
    module.__dict__["get_ipython"] = shell.get_ipython
    return shell
