"""The runner's process parses source in several threads at once (one driver thread per run, the server's threads).

CPython 3.11/3.12 keep the recursion depth of the C-AST -> Python-AST conversion (ast.parse) in one per-interpreter
counter: two threads in ast.parse at once fail now and then with "SystemError: AST constructor recursion depth mismatch"
when the GIL changes hands mid-conversion (a garbage collection running a finalizer is enough). That failed whole runs of
the equivalence corpus (6 runs at a time) as an "internal error of the local runner". The driver's parsing must not
build Python ASTs, or must hold the AST lock.
"""

from __future__ import annotations

import ast
import gc
import threading
import time
import types

from kale_ext import syntax
from kale_ext.runners import params
from kale_ext.steps import runtime

SOURCES = [
    "ys = [last := n for n in range(3)]\nclass A:\n    def m(self):\n        return [x for x in (1, 2, 3)]\n" * 20,
    "!echo hi\n%time z = 2 * 3\n",
]


class _Finalized:
    def __del__(self):
        sum(range(50))


def _hammer(work, seconds=3.0, threads=4):
    """Run ``work`` in several threads beside a thread making cyclic garbage with finalizers (GIL switches inside C)."""
    errors: list[BaseException] = []
    stop = threading.Event()
    old = gc.get_threshold()
    gc.set_threshold(50, 2, 2)

    def loop():
        while not stop.is_set():
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
                return

    def garbage():
        while not stop.is_set():
            a, b = _Finalized(), _Finalized()
            a.b, b.a = b, a

    ts = [threading.Thread(target=loop) for _ in range(threads)] + [threading.Thread(target=garbage)]
    try:
        for t in ts:
            t.start()
        deadline = time.time() + seconds
        while time.time() < deadline and not errors:
            time.sleep(0.05)
    finally:
        stop.set()
        for t in ts:
            t.join()
        gc.set_threshold(*old)
    return errors


def test_uses_shell_is_safe_in_concurrent_threads():
    assert _hammer(lambda: runtime.uses_shell(SOURCES)) == []


def test_uses_shell_builds_no_python_ast(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("ast.parse in the runner's driver thread")

    # uses_shell lives in kale_ext/steps/shell.py and transforms through kale_ext/notebook/ipython.py: refuse
    # ast.parse everywhere, not only in the runtime's module.
    monkeypatch.setattr(runtime, "ast", types.SimpleNamespace(parse=refuse, literal_eval=ast.literal_eval))
    monkeypatch.setattr(ast, "parse", refuse)
    assert runtime.uses_shell(SOURCES) is True
    assert runtime.uses_shell(["x = 1\n"]) is False


def test_parameter_literals_are_safe_in_concurrent_threads():
    def work():
        assert syntax.literal_or_text("[1, (2, 3), {'a': 4.5}]") == [1, (2, 3), {"a": 4.5}]
        params.to_literals({"n": [1, 2, {"k": (3, 4)}] * 20})

    assert _hammer(work) == []
