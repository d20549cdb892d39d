"""The local model server's process: started detached, found again by pid and process token, stopped.

The server (``python -m kale_ext.serving.server``, contract 3) runs in its own session, so it outlives the command or
Jupyter server that started it; it writes ``server.json`` (pid, token, host, port, url, started) once it listens. A
later process finds it through that file: it is alive when its pid still runs with the same process start time (the
token), never on the strength of a pid alone (pids are reused). Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from ..errors import KaleError
from ..runners.local.identity import driver_alive, signal_process

SERVER_JSON = "server.json"
SERVER_LOG = "server.log"
DEFAULT_COMMAND = (sys.executable, "-m", "kale_ext.serving.server")


class ServerStartError(KaleError):
    status = 503
    code = "serving.start"


def read_server(folder: str) -> dict[str, Any] | None:
    """server.json with "alive" added, or None when no server ever wrote one (or it is unreadable)."""
    try:
        with open(os.path.join(folder, SERVER_JSON)) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    info["alive"] = bool(info.get("token")) and _running(info.get("pid"), info.get("token"))
    return info


def _running(pid: Any, token: Any) -> bool:
    """Alive and not a zombie (an exited server whose parent, the process that started it, has not reaped it yet)."""
    if not isinstance(pid, int) or not driver_alive(pid, token):
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return data[data.rindex(b")") + 2 :].split()[0] != b"Z"
    except (OSError, ValueError, IndexError):
        return True  # no /proc: driver_alive's answer


class ServerProcess:
    """Starts and stops the server of one serving folder. ``command``: the program and its leading arguments."""

    def __init__(self, folder: str, command: tuple[str, ...] | list[str] = DEFAULT_COMMAND) -> None:
        self.folder = folder
        self.command = list(command)
        self.child: subprocess.Popen | None = None  # the server this process started (reaped when it ends)

    def running(self) -> dict[str, Any] | None:
        """server.json of the live server, or None."""
        if self.child is not None and self.child.poll() is not None:
            self.child = None  # reaped: a zombie would pass for alive
        info = read_server(self.folder)
        return info if info is not None and info["alive"] else None

    def start(self, state_path: str, host: str, port: int, extra: list[str], timeout: float = 30.0) -> dict[str, Any]:
        """Start the server detached and wait until its server.json shows it listening."""
        os.makedirs(self.folder, exist_ok=True)
        try:
            os.remove(os.path.join(self.folder, SERVER_JSON))
        except FileNotFoundError:
            pass
        argv = [*self.command, "--state", state_path, "--host", host, "--port", str(port), *extra]
        log_path = os.path.join(self.folder, SERVER_LOG)
        with open(log_path, "ab") as log:
            self.child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives this process, and Ctrl+C in its terminal
                close_fds=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.child.poll()
            if code is not None:
                self.child = None
                raise ServerStartError(
                    f"The model server exited with code {code} before listening on {host}:{port}: "
                    f"{_last_line(log_path)} (log: {log_path}).",
                    details={"log": log_path},
                )
            info = read_server(self.folder)
            if info is not None and info.get("pid") == self.child.pid and info["alive"]:
                return info
            time.sleep(0.05)
        self.child.kill()
        self.child.wait()
        self.child = None
        raise ServerStartError(
            f"The model server did not listen on {host}:{port} within {timeout:.0f} s (log: {log_path}).",
            details={"log": log_path},
        )

    def reload(self) -> None:
        """Ask the running server to re-read state.json now (it also notices the file's mtime on its own)."""
        info = self.running()
        if info is not None:
            signal_process(int(info["pid"]), str(info["token"]), signal.SIGHUP)

    def stop(self, timeout: float = 10.0) -> bool:
        """SIGTERM to the verified server process, SIGKILL after ``timeout``; True if one was running."""
        info = self.running()
        if info is None:
            return False
        pid, token = int(info["pid"]), str(info["token"])
        signal_process(pid, token, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._alive(pid, token):
            time.sleep(0.05)
        if self._alive(pid, token):
            signal_process(pid, token, signal.SIGKILL)
        if self.child is not None:
            self.child.wait()
            self.child = None
        try:
            os.remove(os.path.join(self.folder, SERVER_JSON))
        except FileNotFoundError:
            pass
        return True

    def _alive(self, pid: int, token: str) -> bool:
        if self.child is not None and self.child.pid == pid:
            return self.child.poll() is None
        return _running(pid, token)


def _last_line(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 4096))
            lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    return lines[-1].strip() if lines else "no output"
