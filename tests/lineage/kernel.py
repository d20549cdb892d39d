"""A real IPython kernel for the exploration tests (jupyter_client), started in a chosen folder."""

from __future__ import annotations

import os
import queue
from contextlib import contextmanager

from jupyter_client.manager import start_new_kernel


class Kernel:
    def __init__(self, client) -> None:
        self.client = client

    def run(self, code: str, timeout: float = 120) -> dict:
        """Execute ``code``; answers {"stdout", "error": (ename, evalue) or None}."""
        msg_id = self.client.execute(code)
        stdout, error = [], None
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"the kernel did not finish {code!r} in {timeout} s") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                stdout.append(content["text"])
            elif kind == "error":
                error = (content["ename"], content["evalue"])
            elif kind == "status" and content["execution_state"] == "idle":
                return {"stdout": "".join(stdout), "error": error}


@contextmanager
def kernel_in(folder: str, env: dict[str, str] | None = None):
    """A python3 kernel whose working folder is ``folder`` (as JupyterLab starts a notebook's kernel beside it)."""
    environment = {**os.environ, **(env or {})}
    environment.pop("KALE_EXT_HOME", None) if env is None or "KALE_EXT_HOME" not in env else None
    manager, client = start_new_kernel(kernel_name="python3", cwd=folder, env=environment, startup_timeout=120)
    try:
        yield Kernel(client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
