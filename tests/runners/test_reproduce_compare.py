"""How `kale-ext runs reproduce` compares two runs' metrics (kale_ext.runners.reproduce)."""

from __future__ import annotations

import math

from kale_ext.runners.reproduce import compare_metrics, values_equal


def test_values_equal():
    assert values_equal(0.1 + 0.2, 0.3)  # within a relative 1e-9
    assert not values_equal(0.3, 0.3001)
    assert values_equal(math.nan, math.nan) and not values_equal(math.nan, 1.0)
    assert values_equal(2, 2.0) and not values_equal(True, 1) and not values_equal(1, True)
    assert values_equal([1.0, {"a": 2}], [1.0, {"a": 2}]) and not values_equal([1.0], [1.0, 2.0])
    assert not values_equal({"a": 1}, {"b": 1}) and values_equal("x", "x") and not values_equal("1", 1)


def test_compare_metrics_names_every_difference_and_missing_metric():
    assert compare_metrics({"acc": 0.9, "n": 3}, {"acc": 0.9, "n": 3}) == []
    assert compare_metrics({"acc": 0.9, "old": 1}, {"acc": 0.8, "new": 2}) == [
        {"metric": "acc", "original": 0.9, "reproduced": 0.8},
        {"metric": "new", "original": None, "reproduced": 2},
        {"metric": "old", "original": 1, "reproduced": None},
    ]
