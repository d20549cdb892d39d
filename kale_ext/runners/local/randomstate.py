"""Which random state a forked step gets: exactly the one a fresh process running the prelude would have.

Under the subprocess launcher every step is a fresh interpreter: start-up (sitecustomize, libraries seeding on import)
then the prelude (imports and functions cells) decide the global random states, and they are either the same in every
step (something seeded them) or fresh entropy in each. The zygote runs start-up and prelude once and forks; its children
must reproduce both cases. Whether a state is the same in every fresh process is decided by measurement, never by the
prelude's wording, for Python's ``random`` and numpy's legacy global ``RandomState`` (when numpy is loaded):

- start-up: a probe interpreter (``python -m kale_ext.runners.local.zygote --probe``: same interpreter, environment,
  folder and imports as the zygote) reports its states at the point where the zygote took its own; equal digests mean
  start-up decides the state (a seed in sitecustomize, a library that seeds on import), different ones that it is
  entropy;
- prelude: a twin forked before the prelude reseeds from entropy and runs the prelude too; equal digests after the
  prelude mean the prelude decides the state (it seeds), different ones that the state still depends on where it
  started.

A state is the same in every fresh process when start-up or the prelude decides it; the children then get the zygote's
state after the prelude, and fresh entropy otherwise. (A start-up that seeds followed by a prelude that reseeds from
entropy is the one case the twin does not tell apart.) Imports numpy only if something else already did. Never imports
tornado or jupyter_server.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

Digests = dict[str, str | None]  # rng name -> digest of its state (None: not loaded)


def states() -> dict[str, Any]:
    """The global random states now: ``random``'s, and numpy's legacy one when numpy is loaded."""
    np = sys.modules.get("numpy")
    return {"random": random.getstate(), "numpy": np.random.get_state() if np is not None else None}


def digests(current: dict[str, Any] | None = None) -> Digests:
    out: Digests = {}
    for name, state in (current if current is not None else states()).items():
        if state is None:
            out[name] = None
        elif name == "numpy":  # ('MT19937', key array, pos, has_gauss, cached_gaussian)
            data = repr((state[0], state[1].tobytes(), *state[2:])).encode()
            out[name] = hashlib.sha256(data).hexdigest()
        else:
            out[name] = hashlib.sha256(repr(state).encode()).hexdigest()
    return out


def reseed_from_entropy() -> None:
    random.seed()
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed()


def decide(startup: Digests, probe: Digests | None, twin: Digests | None, after: Digests) -> dict[str, bool]:
    """For each loaded rng: whether its state after the prelude is the same in every fresh process."""
    out = {}
    for name, value in after.items():
        if value is None:
            continue
        by_startup = probe is not None and startup.get(name) is not None and probe.get(name) == startup[name]
        by_prelude = twin is not None and twin.get(name) == value
        out[name] = by_startup or by_prelude
    return out


def restore(saved: dict[str, Any], same: dict[str, bool]) -> None:
    """In a forked step: the saved state where every fresh process has it, fresh entropy where none would."""
    np = sys.modules.get("numpy")
    if same.get("random"):
        random.setstate(saved["random"])  # os.fork reseeds `random` in the child
    else:
        random.seed()
    if np is not None:
        if same.get("numpy") and saved.get("numpy") is not None:
            np.random.set_state(saved["numpy"])
        else:
            np.random.seed()


# ------------------------------------------------------------------------------------------------- the measurements
def start_probe() -> subprocess.Popen:
    """A fresh interpreter that prints its start-up digests (see the module docstring); read with ``read_probe``."""
    return subprocess.Popen(
        [sys.executable, "-m", "kale_ext.runners.local.zygote", "--probe"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def read_probe(proc: subprocess.Popen, timeout: float = 60) -> Digests | None:
    try:
        out, _ = proc.communicate(timeout=timeout)
        return json.loads(out.decode().strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        proc.kill()
        proc.wait()
        return None


def fork_twin(prelude: Callable[[], Any], close_fds: list[int]) -> tuple[int, int]:
    """Fork a twin that reseeds from entropy, runs ``prelude`` (output discarded) and writes its digests to a pipe;
    returns (pid, the pipe's read end). The caller is single-threaded (it forks)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.close(read_fd)
            for fd in close_fds:
                os.close(fd)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            reseed_from_entropy()
            try:
                prelude()
            except BaseException:
                pass  # the zygote reports the prelude's errors; the states reached are still measured
            os.write(write_fd, json.dumps(digests()).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    return pid, read_fd


def read_twin(pid: int, read_fd: int, timeout: float) -> Digests | None:
    """The twin's digests, or None if it gives none within ``timeout`` seconds (it is then killed)."""
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    os.kill(pid, signal.SIGKILL)
                return None
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        return None
