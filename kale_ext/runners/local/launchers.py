"""Step process launchers for the local runner: a warm zygote that forks per step, or a fresh interpreter per step.

Both post events on a queue: {"event": "started", "step", "pid"} and {"event": "exited", "step", "code"}; the zygote
also posts "ready" and, if it dies, "launcher_died". Processes are started from argument lists (never a shell), in the
notebook's folder, with the caller's interpreter and environment; every step runs in its own process group.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from typing import Any

from ...steps.program import prelude_parameters, render_program
from ...steps.spec import StepSpec
from . import randomstate
from .identity import kill_group


def child_environment() -> dict[str, str]:
    """The caller's environment; kale_ext's source folder is appended to PYTHONPATH only when kale_ext is not installed."""
    env = dict(os.environ)
    try:
        from importlib.metadata import distribution

        distribution("kale_ext")
        return env
    except Exception:
        pass
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), root) if p)
    return env


ENV_NO_FORK = "KALE_EXT_NO_FORK"


def fork_available() -> bool:
    if os.environ.get(ENV_NO_FORK, "") not in ("", "0"):
        return False
    return hasattr(os, "fork") and sys.platform != "win32"


def start_probe(cwd: str, env: dict[str, str]) -> subprocess.Popen:
    """A fresh interpreter that prints its start-up random states (randomstate.py run as a script); started beside the
    zygote (same interpreter, folder, environment), so neither waits for the other. Read with ``read_probe``."""
    # -c, as the zygote's -m, puts the folder first on sys.path (a script would put its own folder there instead).
    code = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
    return subprocess.Popen(
        [sys.executable, "-c", code, os.path.abspath(randomstate.__file__)],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def probe_key(cwd: str, env: dict[str, str]) -> str:
    """What decides a fresh interpreter's start-up random states: the interpreter, its environment and folder, and the
    files site runs at start-up (.pth files, sitecustomize/usercustomize on any path it searches), by name, size and
    modification time. Two processes with the same key start with the same states or both from entropy."""
    import hashlib
    import site

    h = hashlib.sha256(repr((sys.executable, sys.version, os.path.realpath(cwd), sorted(env.items()))).encode())
    folders = [*site.getsitepackages(), site.getusersitepackages(), cwd]
    folders += [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if name.endswith(".pth") or name in ("sitecustomize.py", "usercustomize.py"):
                try:
                    st = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                h.update(repr((folder, name, st.st_size, st.st_mtime_ns)).encode())
    return h.hexdigest()[:32]


def read_probe(proc: subprocess.Popen, timeout: float = 60) -> randomstate.Digests | None:
    try:
        out, _ = proc.communicate(timeout=timeout)
        return json.loads(out.decode().strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        proc.kill()
        proc.wait()
        return None


def _read_cached_probe(path: str | None) -> randomstate.Digests | None:
    if path is None:
        return None
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class ZygoteProcess:
    """A zygote process, and beside it the probe of a fresh interpreter's random states (randomstate.py), whose answer
    is passed on to the zygote. ``probe_dir`` keeps probe answers by ``probe_key``: an earlier fresh process of the same
    key answers as well as a new one (equal states when start-up decides them, different ones when they come from
    entropy), so only the first run in an environment pays for the probe's interpreter. Its events go to the queue
    subscribed with their tag (None: the untagged ones of a zygote owned by one run); when it dies every subscriber
    gets "launcher_died"."""

    def __init__(self, folder: str, cwd: str, plan: dict[str, Any], probe_dir: str | None = None) -> None:
        os.makedirs(folder, exist_ok=True)
        plan_path = os.path.join(folder, "zygote-plan.json")
        with open(plan_path, "w") as f:
            json.dump(plan, f)
        self.folder = folder
        self.log_path = os.path.join(folder, "zygote.log")
        self.died: int | None = None  # the exit code once it ended
        self._subscribers: dict[str | None, queue.Queue] = {}
        self._subscribers_lock = threading.Lock()
        env = child_environment()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kale_ext.runners.local.zygote", "--plan", plan_path, "--log", self.log_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="kale-zygote-reader", daemon=True)
        self._reader.start()
        cache = os.path.join(probe_dir, probe_key(cwd, env) + ".json") if probe_dir else None
        known = _read_cached_probe(cache)
        if known is not None:
            self.send({"op": "probe", "digests": known})
        else:
            probe = start_probe(cwd, env)
            threading.Thread(
                target=self._pass_probe, args=(probe, cache), name="kale-zygote-probe", daemon=True
            ).start()

    def _pass_probe(self, probe: subprocess.Popen, cache: str | None) -> None:
        digests = read_probe(probe)
        if digests is not None and cache is not None:
            try:
                os.makedirs(os.path.dirname(cache), exist_ok=True)
                tmp = f"{cache}.{os.getpid()}.{threading.get_ident()}.tmp"
                with open(tmp, "w") as f:
                    json.dump(digests, f)
                os.replace(tmp, cache)
            except OSError:
                pass  # a cache that cannot be written only costs the next run another probe
        self.send({"op": "probe", "digests": digests})

    def subscribe(self, tag: str | None, events: queue.Queue) -> None:
        with self._subscribers_lock:
            self._subscribers[tag] = events
            died = self.died
        if died is not None:  # ended before this run came: it hears so at once
            events.put({"event": "launcher_died", "code": died, "log": self.log_path})

    def unsubscribe(self, tag: str | None) -> None:
        with self._subscribers_lock:
            self._subscribers.pop(tag, None)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self._subscribers_lock:
                events = self._subscribers.get(event.pop("tag", None))
            if events is not None:  # a run that closed its launcher hears nothing more
                events.put(event)
        code = self.proc.wait()
        with self._subscribers_lock:
            self.died = code
            subscribers = list(self._subscribers.values())
        for events in subscribers:
            events.put({"event": "launcher_died", "code": code, "log": self.log_path})

    def send(self, op: dict[str, Any]) -> None:
        with self._lock:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write((json.dumps(op) + "\n").encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass  # the reader reports the dead zygote

    def close(self) -> None:
        """Close its stdin (it kills the steps left and exits) and wait for it."""
        with self._lock:
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_group(self.proc.pid)
            self.proc.wait()
        self._reader.join(timeout=10)


class ZygoteLauncher:
    """The zygote of one run, its files in the run's folder; closing the launcher ends it."""

    def __init__(
        self, run_dir: str, cwd: str, plan: dict[str, Any], events: queue.Queue, probe_dir: str | None = None
    ) -> None:
        self.zygote = ZygoteProcess(run_dir, cwd, plan, probe_dir)
        self.zygote.subscribe(None, events)
        self.proc = self.zygote.proc
        self.log_path = self.zygote.log_path

    def launch(self, spec: StepSpec, job_path: str, log_path: str) -> None:
        self.zygote.send({"op": "run", "spec": spec.to_json(), "job": job_path, "log": log_path})

    def kill_all(self) -> None:
        self.zygote.send({"op": "kill"})

    def close(self) -> None:
        self.zygote.close()


class SharedZygoteLauncher:
    """One run's view of a zygote of a ZygotePool: its ops and events carry the run's id; closing kills the run's steps
    left and leaves the zygote to the other runs."""

    def __init__(self, zygote: ZygoteProcess, run_id: str, events: queue.Queue) -> None:
        self.zygote, self.run_id = zygote, run_id
        self.log_path = zygote.log_path
        zygote.subscribe(run_id, events)

    def launch(self, spec: StepSpec, job_path: str, log_path: str) -> None:
        self.zygote.send({"op": "run", "spec": spec.to_json(), "job": job_path, "log": log_path, "tag": self.run_id})

    def kill_all(self) -> None:
        self.zygote.send({"op": "kill", "tag": self.run_id})

    def close(self) -> None:
        self.kill_all()
        self.zygote.unsubscribe(self.run_id)


def zygote_key(cwd: str, plan: dict[str, Any]) -> str:
    """Runs whose zygotes would be alike share one: the same folder, pipeline, prelude cells, IPython shell, and values
    of the parameters the prelude names (it runs with them injected); other parameters are injected per step."""
    named = prelude_parameters(plan.get("prelude", []), plan.get("parameters", {}))
    identity = {
        "cwd": os.path.realpath(cwd),
        "pipeline": plan.get("pipeline"),
        "prelude": plan.get("prelude", []),
        "uses_shell": bool(plan.get("uses_shell")),
        "parameters": {k: plan["parameters"][k] for k in named},
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


class ZygotePool:
    """Warm zygotes shared by a group of runs that start close together, an experiment's trials: a trial's steps are
    forked from a zygote that ran the imports and functions cells once for the whole experiment instead of once per
    trial. One zygote per ``zygote_key``, started by the first run that needs it (again if it died), its files under
    ``folder``; ``close`` ends them all once the group's runs ended and removes ``folder`` unless a zygote died (its
    log is named in the failed steps' errors). Runs outside a pool keep a zygote of their own: a long-lived warm
    process would miss packages installed or files changed between unrelated runs."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._zygotes: dict[str, ZygoteProcess] = {}  # the live one per key
        self._started: list[ZygoteProcess] = []  # every one, a dead one replaced too: close ends them all
        self._lock = threading.Lock()

    def launcher(
        self, run_id: str, cwd: str, plan: dict[str, Any], events: queue.Queue, probe_dir: str | None = None
    ) -> SharedZygoteLauncher:
        key = zygote_key(cwd, plan)
        with self._lock:
            zygote = self._zygotes.get(key)
            if zygote is None or zygote.died is not None:
                folder = os.path.join(self.folder, f"{key}-{len(self._started)}")
                zygote = self._zygotes[key] = ZygoteProcess(folder, cwd, plan, probe_dir)
                self._started.append(zygote)
            return SharedZygoteLauncher(zygote, run_id, events)

    def close(self) -> None:
        with self._lock:
            zygotes, self._started, self._zygotes = self._started, [], {}
        died = False
        for zygote in zygotes:
            died = died or zygote.died is not None
            zygote.close()
        if not died:
            shutil.rmtree(self.folder, ignore_errors=True)


class SubprocessLauncher:
    """A fresh interpreter per step, running the standalone step program (the path without fork)."""

    def __init__(self, cwd: str, events: queue.Queue) -> None:
        self.cwd = cwd
        self.events = events
        self.env = child_environment()
        self.procs: dict[str, subprocess.Popen] = {}

    def launch(self, spec: StepSpec, job_path: str, log_path: str) -> None:
        program = os.path.join(os.path.dirname(job_path), "step.py")
        with open(program, "w") as f:
            f.write(render_program(spec))
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-u", program, "--job", job_path],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
            )
        self.procs[spec.name] = proc
        self.events.put({"event": "started", "step": spec.name, "pid": proc.pid})
        threading.Thread(target=self._wait, args=(spec.name, proc), daemon=True).start()

    def _wait(self, step: str, proc: subprocess.Popen) -> None:
        code = proc.wait()
        self.events.put({"event": "exited", "step": step, "pid": proc.pid, "code": code})

    def kill_all(self) -> None:
        for proc in list(self.procs.values()):
            if proc.poll() is None:
                kill_group(proc.pid)

    def close(self) -> None:
        self.kill_all()
