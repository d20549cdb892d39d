"""The warm process of a run: runs the prelude (imports + functions cells) once, then forks one child per step.

Importing numpy, pandas and scikit-learn costs 2 to 3 s in a fresh interpreter; forked children start with them loaded
in milliseconds. Each child is still its own process (own process group, so cancelling kills everything it started), in
the notebook's folder, with the caller's interpreter and environment, its stdout/stderr on its own log file.

Started by the local runner as ``python -m kale_ext.runners.local.zygote --plan PLAN.json --log LOG`` (an argument list).
Protocol: JSON lines on stdin ({"op": "run", "spec", "job", "log", "tag"} | {"op": "kill", "tag"} | {"op": "probe",
"digests"}: the start-up random states of a fresh interpreter, measured by the launcher meanwhile; steps fork once it
came, see randomstate.py); JSON lines on the original stdout ({"event": "ready"|"started"|"exited", "tag", ...}); the
zygote's own prints go to LOG. Closing stdin kills the children left.

One zygote may serve several runs of the same prelude (an experiment's trials, launchers.ZygotePool): each run's ops
carry its tag (the run id), its events come back with it, and a kill with a tag kills that run's steps only. A step of
a run whose parameters differ from the ones the prelude ran with gets that run's values injected before it starts (the
pool shares a zygote only between runs that agree on every parameter the prelude names).
Single-threaded by design (fork after threads is unsafe). Every forked step gets the random state a fresh process
running the prelude would have (randomstate.py). Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
import time
from typing import Any

from ...steps import runtime
from ...steps.spec import StepSpec
from . import randomstate
from .identity import kill_group


class Zygote:
    def __init__(self, plan: dict[str, Any], proto, startup: randomstate.Digests | None = None) -> None:
        self.plan = plan
        self.startup = startup if startup is not None else randomstate.digests()  # the random states at start-up
        self.proto = proto
        self.module = None
        self.prelude_error: dict[str, Any] | None = None
        self.children: dict[int, tuple[str, str | None]] = {}  # pid -> (step, tag)
        self.pidfds: dict[int, int] = {}  # pidfd -> pid
        self._watch: randomstate.PreludeWatch | None = None  # the random states before and after the prelude
        self._same_random: dict[str, bool] | None = (
            None  # rng -> every fresh process has that state (None: no probe yet)
        )
        self._waiting: list[dict[str, Any]] = []  # run ops that came before the probe

    def send(self, **event: Any) -> None:
        self.proto.write(json.dumps(event) + "\n")
        self.proto.flush()

    # ----------------------------------------------------------------------------------------------------------- setup
    def run_prelude(self) -> Any:
        prelude = self.plan.get("prelude", [])
        spec = StepSpec(pipeline=self.plan.get("pipeline", ""), name="<prelude>", cells=[], prelude=prelude)
        module = runtime.prepare_namespace(spec, self.plan.get("parameters", {}))
        if self.plan.get("uses_shell"):
            runtime.make_shell(module)
        return module

    def prepare(self) -> None:
        t = time.time()
        with randomstate.PreludeWatch() as watch:
            try:
                self.module = self.run_prelude()
            except BaseException as exc:
                self.prelude_error = runtime.describe_error(exc)
                sys.stderr.write(self.prelude_error["traceback"])
        # Everything a step needs besides its own code is loaded once, here, not in every child: the serializers and
        # the entry point scan (tens of milliseconds each).
        from ...marshal import default_registry

        default_registry()._ensure_entry_points()
        self._watch = watch
        runtime._flush()
        self.send(event="ready", ok=self.prelude_error is None, prelude_s=round(time.time() - t, 4))

    # ------------------------------------------------------------------------------------------------------------ run
    def fork_step(self, op: dict[str, Any]) -> None:
        spec = StepSpec.from_json(op["spec"])
        tag = op.get("tag")
        with open(op["job"]) as f:
            job = json.load(f)
        ran_with = self.plan.get("parameters", {})
        other = {k: v for k, v in job.get("parameters", {}).items() if ran_with.get(k) != v}  # another run's values
        runtime._flush()
        pid = os.fork()
        if pid == 0:  # the step process
            code = runtime.EXIT_FAILED
            try:
                os.setsid()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                fd = os.open(op["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.close(fd)
                # The step keeps none of the zygote's channels: the driver must see the zygote's end, not the steps'.
                for fd in (self.proto.fileno(), *self.pidfds):
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                devnull = os.open(
                    os.devnull, os.O_RDONLY
                )  # stdin: nothing to read, as with `python step.py < /dev/null`
                os.dup2(devnull, 0)
                os.close(devnull)
                randomstate.restore(self._watch.after if self._watch else {}, self._same_random or {})
                if other and self.module is not None:
                    runtime.inject_parameters(self.module, other)
                code = runtime.execute_step(spec, job, self.module, self.prelude_error)
            finally:
                runtime._flush()
                os._exit(code)
        self.children[pid] = (spec.name, tag)
        try:
            self.pidfds[os.pidfd_open(pid)] = pid
        except (AttributeError, OSError):
            pass
        self.send(event="started", step=spec.name, pid=pid, tag=tag)

    def reap(self, pid: int | None = None) -> None:
        pids = [pid] if pid is not None else list(self.children)
        for p in pids:
            try:
                done, status = os.waitpid(p, os.WNOHANG)
            except ChildProcessError:
                done, status = p, 0
            if done == 0:
                continue
            step, tag = self.children.pop(p)
            for fd, fpid in list(self.pidfds.items()):
                if fpid == p:
                    os.close(fd)
                    del self.pidfds[fd]
            self.send(event="exited", step=step, pid=p, code=os.waitstatus_to_exitcode(status), tag=tag)

    def kill_all(self, sig: int = signal.SIGKILL, tag: str | None = None) -> None:
        """Kill the steps of the run ``tag`` (every step when None)."""
        for pid, (_, of) in list(self.children.items()):
            if tag is None or of == tag:
                kill_group(pid, sig)

    def serve(self) -> None:
        buffer = b""
        stdin_open = True
        while stdin_open or self.children:
            fds = ([0] if stdin_open else []) + list(self.pidfds)
            timeout = None if len(self.pidfds) == len(self.children) else 0.02
            readable, _, _ = select.select(fds, [], [], timeout)
            if 0 in readable:
                chunk = os.read(0, 65536)
                if not chunk:
                    stdin_open = False
                    self.kill_all()
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        self.handle(json.loads(line))
            for fd in readable:
                if fd != 0 and fd in self.pidfds:
                    self.reap(self.pidfds[fd])
            if timeout is not None:
                self.reap()

    def handle(self, op: dict[str, Any]) -> None:
        if op["op"] == "run":
            if self._same_random is None:
                self._waiting.append(op)
            else:
                self.fork_step(op)
        elif op["op"] == "probe":
            watch = self._watch or randomstate.PreludeWatch()
            self._same_random = randomstate.decide(self.startup, op.get("digests"), watch.before, watch.after)
            print(f"kale-ext zygote: random states the same in every fresh process: {self._same_random}")
            waiting, self._waiting = self._waiting, []
            for run in waiting:
                self.fork_step(run)
        elif op["op"] == "kill":
            tag = op.get("tag")
            self.kill_all(signal.SIGKILL, tag)
            killed = [run for run in self._waiting if tag is None or run.get("tag") == tag]
            self._waiting = [run for run in self._waiting if run not in killed]
            for run in killed:  # never started: reported as killed, as a started step would be
                self.send(event="exited", step=run["spec"]["name"], pid=None, code=-signal.SIGKILL, tag=run.get("tag"))


def main(argv: list[str] | None = None) -> int:
    startup = randomstate.digests()  # first, before anything could draw: the state start-up left
    parser = argparse.ArgumentParser(description="kale-ext warm step launcher (internal)")
    parser.add_argument("--plan", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args(argv)
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    fd = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    runtime.line_buffered_stdio()
    with open(args.plan) as f:
        plan = json.load(f)
    zygote = Zygote(plan, proto, startup)
    zygote.prepare()
    zygote.serve()
    runtime._flush()
    proto.flush()
    os._exit(0)  # skip interpreter finalization: unloading the prelude's libraries costs up to a second


if __name__ == "__main__":
    sys.exit(main())
