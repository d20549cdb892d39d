"""Process identity on this machine: which process drives a local run, whether it still lives, how to signal it safely
(a verified signal to a driver; a step's whole process group).

A pid alone is not an identity (pids are reused), so a driver is recorded as (pid, token), the token being the
process's start time from /proc. The store records it with each local run and the local runner checks it before it
declares a run interrupted or sends a cancel signal to another process. Imports nothing from kale_ext (the store and
the zygote import this module), never tornado or jupyter_server.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable


def process_token(pid: int) -> str | None:
    """The process start time (Linux /proc), to tell a live driver from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return data[data.rindex(b")") + 2 :].split()[19].decode()
    except (OSError, ValueError, IndexError):
        return None


def driver_alive(pid: int | None, token: str | None) -> bool:
    """Whether the process ``pid`` still runs and is the one whose start time is ``token`` (not a reused pid)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    current = process_token(pid)
    return token is None or current is None or current == token


def signal_process(pid: int, token: str, sig: int) -> bool:
    """Send ``sig`` to ``pid`` only if it is still the process that started at ``token`` (its /proc start time); False
    when that process is gone (the pid is free or was reused). Race-free where pidfds exist: the pidfd pins the process
    whose start time is checked, so a pid reused after the check is never signalled. PermissionError propagates."""
    fd = None
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except (AttributeError, OSError):  # no pidfds (old kernel, not Linux): check, then kill
        fd = None
    try:
        if not token or process_token(pid) != token:
            return False
        if fd is not None:
            signal.pidfd_send_signal(fd, sig)
        else:
            os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False
    finally:
        if fd is not None:
            os.close(fd)


class UnsignalableDriverError(Exception):
    """The driver cannot be cancelled from here: it is this process, or no cancel signal or start time is recorded."""


def cancel_foreign_driver(
    pid: int | None,
    token: str | None,
    signal_name: str | None,
    *,
    ended: Callable[[], bool],
    recover: Callable[[], object],
    timeout: float,
) -> bool:
    """Cancel what another process drives (a run, an experiment): send that driver its recorded cancel signal, after
    checking that ``pid`` is still the process that started at ``token``, and wait until ``ended()``. ``recover()``
    records it interrupted, called when the driver is (or is found) dead or the signal reached nobody. True once it
    ended, False when it is still going after ``timeout`` s. UnsignalableDriverError when it cannot be signalled from
    here; PermissionError when this user may not signal it."""
    if not driver_alive(pid, token):
        recover()
        return True
    sig = getattr(signal, signal_name, None) if signal_name else None
    if pid is None or pid == os.getpid() or not isinstance(sig, signal.Signals) or not token:
        raise UnsignalableDriverError(pid)
    delivered = signal_process(pid, token, sig)
    deadline = time.monotonic() + timeout
    while True:
        if ended():
            return True
        if not delivered or not driver_alive(pid, token):
            recover()
            if ended():
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a step's process group (each step leads its own), or the process alone if it has no group yet."""
    try:
        os.killpg(pid, sig)
    except OSError:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
