"""The step runtime's Rebinder: notebook functions held anywhere in a step's loaded inputs read the step's globals."""

from __future__ import annotations

import collections
import functools
import time

import cloudpickle
import numpy as np

from kale_ext.steps.rebinder import Rebinder


def _producer():
    """A function defined in a producing step's ``__main__``, and its loaded (cloudpickled) copy."""
    ns = {"__name__": "__main__", "K": 1}
    exec("def f(v=1):\n    return v * K\n", ns)
    return ns["f"]


def _loaded(value):
    return cloudpickle.loads(cloudpickle.dumps(value))


def _step_ns(**values):
    return {"__name__": "__main__", **values}


def test_functions_held_in_containers_are_rebound_once_and_in_place():
    f = _producer()
    fs = [f]
    value = _loaded({"fs": fs, "alias": fs, "t": (f, [f]), "s": {f}, "d": {f: 1}, "p": functools.partial(f, 2)})
    ns = _step_ns(K=10)
    rb = Rebinder(ns)
    fs_before, p_before = value["fs"], value["p"]
    out = rb.value(value)
    assert out is value and out["fs"] is fs_before and out["alias"] is out["fs"]
    g = out["fs"][0]
    assert g.__globals__ is ns and g() == 10
    assert out["t"][0] is g and out["t"][1][0] is g and g in out["s"] and out["d"][g] == 1
    assert out["p"] is p_before and out["p"].func is g and out["p"]() == 20


def test_same_function_maps_to_same_object_across_inputs():
    f = _producer()
    a, b = _loaded((f, [f]))
    ns = _step_ns(K=10)
    rb = Rebinder(ns)
    assert rb.value(a) is rb.value(b)[0]


def test_instances_bound_methods_closures_defaults_and_cycles():
    ns0 = {"__name__": "__main__", "K": 1}
    exec(
        "class N:\n    def m(self):\n        return K\n"
        "def outer():\n    def inner():\n        return K\n    return lambda: inner()\n"
        "def g(h=outer()):\n    return h()\n"
        "n = N()\nn.me = n\nn.fn = outer()\nbm = n.m\ndd = __import__('collections').defaultdict(outer())\n",
        ns0,
    )
    n, bm, g, dd = _loaded((ns0["n"], ns0["bm"], ns0["g"], ns0["dd"]))
    ns = _step_ns(K=10)
    rb = Rebinder(ns)
    n2, bm2, g2, dd2 = (rb.value(v) for v in (n, bm, g, dd))
    assert n2 is n and n.me is n and n.fn() == 10
    assert bm2() == 10 and bm2.__self__ is n
    assert g2() == 10
    assert isinstance(dd2, collections.defaultdict) and dd2["x"] == 10


def test_library_functions_and_payloads_are_left_alone():
    f = _producer()
    arr = np.empty(3, dtype=object)
    arr[0] = f
    lib = functools.reduce
    ns = _step_ns(K=10)
    rb = Rebinder(ns)
    assert rb.value(arr)[0] is f  # never descends into arrays
    assert rb.value(lib) is lib


def test_walk_is_bounded_on_large_plain_data():
    big = list(range(3_000_000))
    rb = Rebinder(_step_ns())
    t = time.perf_counter()
    assert rb.value(big) is big
    assert time.perf_counter() - t < 1.0
