"""Which random state a forked step gets: exactly the one a fresh process running the prelude would have.

Under the subprocess launcher every step is a fresh interpreter: start-up (sitecustomize, libraries seeding on import)
then the prelude (imports and functions cells) decide the global random states, and they are either the same in every
step (something seeded them) or fresh entropy in each. The zygote runs start-up and prelude once and forks; its children
must reproduce both cases. Whether a state is the same in every fresh process is decided by measurement, never by the
prelude's wording, for Python's ``random`` and numpy's legacy global ``RandomState`` (when numpy.random is loaded):

- start-up: a probe interpreter (this file run as a script by the launcher: same interpreter, environment and folder
  as the zygote)
  reports its states after start-up; equal to the zygote's own at start-up, they mean start-up decides the state (a
  seed in sitecustomize, a library that seeds on import), different ones that it is entropy;
- prelude: the state after the prelude either follows from the state before it by drawing numbers (both are Mersenne
  Twisters: the later key is a number of twists of the earlier one, checked up to ``TWISTS`` twists), so it still
  depends on the process's entropy, or it does not, and then the prelude (or a library it imported) set it. numpy's
  state "before" is the one numpy.random had the moment the prelude imported it (an import watch).

A state is the same in every fresh process when start-up or the prelude decides it; the children then get the zygote's
state after the prelude, and fresh entropy otherwise. Two cases are taken for seeding although fresh processes would
differ: a prelude that reseeds from entropy (``random.seed()`` without a seed) and one that draws more than
``TWISTS`` x 624 numbers without seeding. Never imports numpy itself, nor tornado or jupyter_server.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import random
import sys
from typing import Any

TWISTS = 256  # how far (x 624 drawn 32-bit words) a state "after" is searched for from the state "before"
MT_N = 624  # words of a Mersenne Twister key

Digests = dict[str, str | None]  # rng name -> digest of its state (None: not loaded)


def states() -> dict[str, Any]:
    """The global random states now: ``random``'s, and numpy's legacy one when numpy.random is loaded."""
    np_random = sys.modules.get("numpy.random")
    return {"random": random.getstate(), "numpy": np_random.get_state() if np_random is not None else None}


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


def _key_and_position(name: str, state: Any) -> tuple[tuple[int, ...], int]:
    if name == "numpy":  # ('MT19937', key array, pos, has_gauss, cached_gaussian)
        return tuple(int(w) for w in state[1]), int(state[2])
    return tuple(state[1][:MT_N]), int(state[1][MT_N])  # random: (version, key + (pos,), gauss_next)


def _temper(y: int) -> int:
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    return y ^ (y >> 18)


def drawn_from(before: tuple[tuple[int, ...], int], after: tuple[tuple[int, ...], int], twists: int = TWISTS) -> bool:
    """Whether the Mersenne Twister state ``after`` (key, position) follows from ``before`` by drawing words: its key
    is ``before``'s key twisted 0 to ``twists`` times. After a twist the generator outputs its new key tempered, so the
    keys reachable are found in one run of ``before``'s generator."""
    (key_b, pos_b), (key_a, pos_a) = before, after
    if key_a == key_b:
        return pos_a >= pos_b
    gen = random.Random()
    gen.setstate((3, (*key_b, MT_N), None))  # position N: the next word twists
    words = MT_N * twists
    stream = gen.getrandbits(32 * words).to_bytes(4 * words, "little")
    target = b"".join(_temper(w).to_bytes(4, "little") for w in key_a)
    size = len(target)
    return any(stream[i : i + size] == target for i in range(0, len(stream), size))


def decide(startup: Digests, probe: Digests | None, before: dict[str, Any], after: dict[str, Any]) -> dict[str, bool]:
    """For each loaded rng: whether its state after the prelude is the same in every fresh process."""
    out = {}
    for name, state in after.items():
        if state is None:
            continue
        by_startup = probe is not None and startup.get(name) is not None and probe.get(name) == startup[name]
        prior = before.get(name)
        by_prelude = prior is not None and not drawn_from(
            _key_and_position(name, prior), _key_and_position(name, state)
        )
        out[name] = by_startup or by_prelude
    return out


def restore(saved: dict[str, Any], same: dict[str, bool]) -> None:
    """In a forked step: the saved state where every fresh process has it, fresh entropy where none would."""
    if same.get("random"):
        random.setstate(saved["random"])  # os.fork reseeds `random` in the child
    else:
        random.seed()
    np_random = sys.modules.get("numpy.random")
    if np_random is not None:
        if same.get("numpy") and saved.get("numpy") is not None:
            np_random.set_state(saved["numpy"])
        else:
            np_random.seed()


class PreludeWatch:  # a sys.meta_path finder (importlib.abc is not imported: it costs the zygote 7 ms)
    """``with PreludeWatch() as watch: <run the prelude>``: ``before`` and ``after`` hold the random states around it;
    numpy's "before" is taken the moment numpy.random finishes importing, if the prelude is what imports it."""

    def __init__(self) -> None:
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}

    def __enter__(self) -> PreludeWatch:
        self.before = states()
        if self.before["numpy"] is None:
            sys.meta_path.insert(0, self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        self.after = states()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "numpy.random":
            return None
        sys.meta_path.remove(self)  # once, and not while the real finders look
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, watch = spec.loader, self
        exec_module = loader.exec_module

        def exec_and_record(module: Any) -> None:
            exec_module(module)
            watch.before["numpy"] = module.get_state()

        loader.exec_module = exec_and_record  # type: ignore[method-assign]  # this spec's own loader instance
        return spec


if __name__ == "__main__":  # the probe: the interpreter's start-up and nothing of kale_ext (which draws no numbers)
    print(json.dumps(digests()))
