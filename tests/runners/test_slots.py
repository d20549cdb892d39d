"""The runner-wide slot pool: several runs at once never have more step processes alive than the pool's size."""

from __future__ import annotations

import os
import queue
import threading
import time

import pytest

from kale_ext.runners.base import RunOptions
from kale_ext.runners.local import LocalRunner
from kale_ext.runners.local.slots import Slots
from kale_ext.store import Store

from .helpers import pipeline, step, write_notebook


def test_slots_take_release_and_wake_the_waiting_runs():
    slots = Slots(2)
    a, b = queue.Queue(), queue.Queue()
    assert slots.try_acquire(a) and slots.try_acquire(a)
    assert not slots.try_acquire(b) and not slots.try_acquire(b)  # b waits (registered once)
    assert slots.in_use == 2 and slots.peak == 2
    slots.release()
    assert b.get_nowait() == {"event": "slot"} and b.empty() and a.empty()
    assert slots.try_acquire(b) and not slots.try_acquire(a)
    slots.withdraw(a)
    slots.release()
    assert a.empty(), "a withdrawn waiter is not woken"
    slots.release()
    assert slots.in_use == 0
    with pytest.raises(RuntimeError, match="never acquired"):
        slots.release()
    with pytest.raises(ValueError, match="positive size"):
        Slots(0)


def _proc_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), fields[0], cmdline)
    return table


def live_step_processes() -> set[int]:
    """This test's live step processes: the children of its zygotes (forked steps) and its step.py interpreters."""
    table = _proc_table()
    me = os.getpid()
    zygotes = {p for p, (ppid, _, cmd) in table.items() if ppid == me and "kale_ext.runners.local.zygote" in cmd}
    return {
        p
        for p, (ppid, state, cmd) in table.items()
        if state != "Z" and (ppid in zygotes or (ppid == me and "step.py" in cmd and "--job" in cmd))
    }


class Sampler(threading.Thread):
    """Counts the live step processes every few milliseconds; ``peak`` is the most seen at once."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.peak = 0
        self.seen: set[int] = set()

    def run(self) -> None:
        while not self.stop.is_set():
            alive = live_step_processes()
            self.seen |= alive
            self.peak = max(self.peak, len(alive))
            time.sleep(0.005)


def sleepy(name: str, record: str):
    """Three independent steps that each record (pid, start, end) of their own work and sleep meanwhile."""
    body = (
        "import os, time\n_t0 = time.time()\ntime.sleep(0.6)\n"
        f"with open({record!r}, 'a') as _f:\n    _f.write(f'{{os.getpid()}} {{_t0}} {{time.time()}}\\n')\n"
    )
    return pipeline(*(step(f"s{i}", body, index=i + 1) for i in range(3)), name=name)


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    best = now = 0
    for _, delta in edges:
        now += delta
        best = max(best, now)
    return best


def run_two_at_once(tmp_path, launcher: str, max_processes: int):
    record = str(tmp_path / "steps.txt")
    nbs = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        nbs.append(write_notebook(tmp_path / name / "nb.ipynb")[0])
    runner = LocalRunner(Store(str(tmp_path / ".kale")), launcher=launcher, max_processes=max_processes)
    sampler = Sampler()
    sampler.start()
    try:
        ids = [
            runner.start(sleepy(n, record), nb, RunOptions(max_parallel=3, use_cache=False))
            for n, nb in zip(("one", "two"), nbs, strict=True)
        ]
        runs = [runner.wait(run_id, timeout=120) for run_id in ids]
    finally:
        sampler.stop.set()
        sampler.join()
    with open(record) as f:
        rows = [line.split() for line in f]
    return runner, runs, sampler, [(float(s), float(e)) for _, s, e in rows], {int(p) for p, _, _ in rows}


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="counts the step processes in /proc")
@pytest.mark.parametrize("launcher", ["fork", "subprocess"])
def test_two_runs_at_once_share_a_pool_of_two(tmp_path, launcher):
    runner, runs, sampler, intervals, pids = run_two_at_once(tmp_path, launcher, max_processes=2)
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"], runs
    assert all(s["status"] == "succeeded" for r in runs for s in r["steps"])
    assert len(intervals) == 6 and pids <= sampler.seen, "the sampler saw every step process"
    assert sampler.peak == 2, f"{sampler.peak} step processes were alive at once under a pool of 2"
    assert max_overlap(intervals) == 2
    assert runner.slots.peak == 2 and runner.slots.in_use == 0


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="counts the step processes in /proc")
def test_without_the_bound_the_same_runs_overlap_more(tmp_path):
    """The control: the sampler and the records do see more than two at once when the pool allows it."""
    _, runs, sampler, intervals, _ = run_two_at_once(tmp_path, "fork", max_processes=6)
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"], runs
    assert sampler.peak > 2 and max_overlap(intervals) > 2


def test_cancel_of_a_run_waiting_for_a_slot_returns_at_once(tmp_path):
    record = str(tmp_path / "steps.txt")
    nb, _ = write_notebook(tmp_path / "nb.ipynb")
    runner = LocalRunner(Store(str(tmp_path / ".kale")), max_processes=1)
    hog = runner.start(sleepy("hog", record), nb, RunOptions(max_parallel=1, use_cache=False))
    deadline = time.monotonic() + 30
    while runner.slots.in_use == 0 and time.monotonic() < deadline:  # the hog's first step holds the one slot
        time.sleep(0.01)
    waiting = runner.start(sleepy("waiting", record), nb, RunOptions(use_cache=False))
    time.sleep(0.3)
    assert runner.get_run(waiting)["status"] == "running"
    assert [s["status"] for s in runner.get_run(waiting)["steps"]] == ["queued"] * 3, "it waits for a slot"
    t = time.monotonic()
    cancelled = runner.cancel(waiting)
    assert time.monotonic() - t < 5 and cancelled["status"] == "cancelled"
    assert [s["status"] for s in cancelled["steps"]] == ["cancelled"] * 3
    assert runner.wait(hog, timeout=60)["status"] == "succeeded"
    assert runner.slots.in_use == 0
