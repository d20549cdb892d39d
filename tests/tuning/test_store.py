"""The store's experiment records (store/experiments.py): experiments and trials written and read back as the
contract's experiment dict; a dead driver leaves its experiment "interrupted"."""

from __future__ import annotations

import pytest

from kale_ext.errors import NotFoundError
from kale_ext.store import Store


def test_experiment_and_trials_round_trip(tmp_path):
    store = Store(str(tmp_path / "store"))
    nb = str(tmp_path / "nb.ipynb")
    store.create_experiment(experiment_id="e1", notebook=nb, name="nb", spec={"maxTrialCount": 2, "seed": 3})
    store.add_trial("e1", 1, {"x": 0.1})
    store.add_trial("e1", 2, {"x": 0.2}, stage="tune")
    store.update_trial("e1", 1, run_id="r1", status="succeeded", objective=1.5, metrics={"score": 1.5}, finished=5.0)
    best = {"trial": 1, "run_id": "r1", "parameters": {"x": 0.1}, "objective": 1.5}
    store.update_experiment("e1", status="succeeded", result={"best": best, "reason": "maxTrialCount reached"})
    exp = store.get_experiment("e1")
    assert exp["status"] == "succeeded" and exp["notebook"] == nb and exp["runner"] == "local"
    assert exp["spec"] == {"maxTrialCount": 2, "seed": 3}
    assert exp["best"] == best and exp["reason"] == "maxTrialCount reached" and exp["automl"] is None
    first, second = exp["trials"]
    assert first["metrics"] == {"score": 1.5} and first["objective"] == 1.5 and first["run_id"] == "r1"
    assert second["status"] == "pending" and second["stage"] == "tune" and second["parameters"] == {"x": 0.2}
    assert [e["experiment_id"] for e in store.list_experiments(nb)] == ["e1"]
    assert store.list_experiments(str(tmp_path / "other.ipynb")) == []
    assert store.list_experiments()[0]["trials"] == exp["trials"]
    with pytest.raises(NotFoundError):
        store.get_experiment("nope")
    with pytest.raises(ValueError):
        store.update_trial("e1", 1, parameters={})


def test_dead_driver_leaves_the_experiment_interrupted(tmp_path):
    store = Store(str(tmp_path / "store"))
    store.create_experiment(experiment_id="e1", notebook="nb.ipynb", name="nb", spec={})
    store.create_experiment(experiment_id="e2", notebook="nb.ipynb", name="nb", spec={})
    store.add_trial("e1", 1, {"x": 1})
    store.update_trial("e1", 1, status="running")
    assert store.recover_interrupted_experiments() == []  # this process drives both: alive
    lost = store.recover_interrupted_experiments(alive=lambda pid, token: False)
    assert sorted(lost) == ["e1", "e2"]
    exp = store.get_experiment("e1")
    assert exp["status"] == "interrupted" and "--resume" in exp["error"]
    assert exp["trials"][0]["status"] == "interrupted"
