"""The local engine (tuning/experiment.py, engine.py) on a deterministic objective notebook: the best region found,
a seed reproduces, Katib's stop rules, failed trials, cancel and resume, AutoML's two stages, the store's records,
and the shared data-loading step executed once per experiment."""

from __future__ import annotations

import json
import time

import pytest

from kale_ext.analysis import analyze
from kale_ext.runners.local import LocalRunner
from kale_ext.store import Store
from kale_ext.tuning.experiment import Tuner
from kale_ext.tuning.spec import TuningError, read_experiment, with_overrides
from tests.tuning.objective import AUTOML, katib_with, loads, objective_notebook


@pytest.fixture
def tuner(tmp_path):
    runner = LocalRunner(Store(str(tmp_path / "store")), use_fork=True)
    tuner = Tuner(runner)
    yield tuner
    tuner.close()
    runner.close()


def experiment(tmp_path, katib=None, automl=None, load_s=0.0, train_s=0.0, **overrides):
    nb = objective_notebook(katib=katib, automl=automl, load_s=load_s, train_s=train_s)
    path = tmp_path / "objective.ipynb"
    path.write_text(json.dumps(nb))
    pipeline = analyze(nb)
    spec = with_overrides(read_experiment(nb, pipeline), pipeline=pipeline, **overrides)
    return str(path), spec, pipeline


def run(tuner, tmp_path, *, automl=False, events=None, **kwargs):
    path, spec, pipeline = experiment(tmp_path, **kwargs)
    eid = tuner.start(path, spec, pipeline=pipeline, automl=automl, listener=None if events is None else events.append)
    return tuner.wait(eid, timeout=240)


def test_grid_finds_the_best_point_and_exhausts_the_space(tuner, tmp_path):
    events: list[dict] = []
    exp = run(tuner, tmp_path, katib=katib_with(maxTrialCount=25), events=events)
    assert exp["status"] == "succeeded" and exp["reason"] == "search space exhausted"
    assert len(exp["trials"]) == 20 and all(t["status"] == "succeeded" for t in exp["trials"])
    assert exp["best"]["parameters"] == {"x": 0.3, "y": 3} and exp["best"]["objective"] == pytest.approx(9.0)
    points = {(t["parameters"]["x"], t["parameters"]["y"]) for t in exp["trials"]}
    assert len(points) == 20  # every grid point once
    best = next(t for t in exp["trials"] if t["trial"] == exp["best"]["trial"])
    assert best["run_id"] == exp["best"]["run_id"] and best["metrics"] == {"score": 9.0, "penalty": pytest.approx(0)}
    assert loads(tmp_path) == 1  # the load step reads no tuned parameter: executed once for the whole experiment
    finished = [e for e in events if e["event"] == "trial" and e["status"] == "succeeded"]
    assert len(finished) == 20 and finished[-1]["best"]["objective"] == pytest.approx(9.0)
    assert [e["status"] for e in events if e["event"] == "experiment"] == ["running", "succeeded"]
    assert exp["spec"]["maxTrialCount"] == 25 and exp["spec"]["seed"] is None and exp["runner"] == "local"


def test_parallel_trials_reuse_the_slow_load_step(tuner, tmp_path):
    exp = run(tuner, tmp_path, load_s=1.0, katib=katib_with(maxTrialCount=4, parallelTrialCount=2))
    assert exp["status"] == "succeeded" and len(exp["trials"]) == 4
    runs = [tuner.runner.get_run(t["run_id"]) for t in exp["trials"]]
    load = [next(s for s in r["steps"] if s["name"] == "load") for r in runs]
    assert sorted(s["status"] for s in load) == ["cached", "cached", "cached", "succeeded"]
    assert loads(tmp_path) == 1


def test_the_trials_fork_from_one_warm_process_that_ran_the_imports_once(tuner, tmp_path):
    nb = objective_notebook(katib=katib_with(maxTrialCount=6, parallelTrialCount=2))
    nb["cells"][0]["source"] += "\nwith open('imports.txt', 'a') as f:\n    f.write('imports\\n')"
    path = tmp_path / "objective.ipynb"
    path.write_text(json.dumps(nb))
    pipeline = analyze(nb)
    exp = tuner.wait(tuner.start(str(path), read_experiment(nb, pipeline), pipeline=pipeline), timeout=240)
    assert exp["status"] == "succeeded" and len(exp["trials"]) == 6
    assert (tmp_path / "imports.txt").read_text().splitlines() == ["imports"]  # once, not once per trial
    assert exp["best"]["parameters"] == {"x": 0.3, "y": 3}  # each trial computed with its own values
    assert list((tmp_path / "store" / "zygotes").iterdir()) == []  # the experiment's warm process ended with it


def test_random_with_a_seed_reproduces(tuner, tmp_path):
    space = katib_with(
        algorithm={"algorithmName": "random"},
        maxTrialCount=5,
        parallelTrialCount=1,
        parameters=[{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.5"}}],
    )
    first = run(tuner, tmp_path, katib=space, seed=11)
    second = run(tuner, tmp_path, katib=space, seed=11)
    other = run(tuner, tmp_path, katib=space, seed=12)
    xs = [[t["parameters"]["x"] for t in e["trials"]] for e in (first, second, other)]
    assert xs[0] == xs[1] and xs[0] != xs[2]
    assert all(0.1 <= x <= 0.5 for x in xs[0]) and first["reason"] == "maxTrialCount reached"
    assert abs(first["best"]["parameters"]["x"] - 0.3) < 0.1  # the best region (score -10 (x - 0.3)^2) is found
    assert first["spec"]["seed"] == 11


def test_goal_reached_stops_the_experiment(tuner, tmp_path):
    objective = {"type": "maximize", "objectiveMetricName": "score", "goal": 8.5}
    exp = run(tuner, tmp_path, katib=katib_with(objective=objective, maxTrialCount=20, parallelTrialCount=1))
    assert exp["status"] == "succeeded" and exp["reason"] == "goal reached"
    assert exp["best"]["objective"] >= 8.5 and len(exp["trials"]) < 20
    assert [t["objective"] >= 8.5 for t in exp["trials"]].count(True) == 1  # it stopped at the first


def discrete_x(values, **changes):
    return katib_with(
        parameters=[{"name": "x", "parameterType": "discrete", "feasibleSpace": {"list": values}}],
        parallelTrialCount=1,
        **changes,
    )


def test_a_failed_trial_is_counted_and_the_experiment_goes_on(tuner, tmp_path):
    # maxFailedTrialCount is the number of failures tolerated: one failure under maxFailedTrialCount 1 goes on.
    exp = run(tuner, tmp_path, katib=discrete_x(["0.95", "0.2", "0.3"], maxTrialCount=3, maxFailedTrialCount=1))
    assert exp["status"] == "succeeded"
    statuses = {t["parameters"]["x"]: t["status"] for t in exp["trials"]}
    assert statuses == {0.95: "failed", 0.2: "succeeded", 0.3: "succeeded"}
    failed = next(t for t in exp["trials"] if t["status"] == "failed")
    assert failed["objective"] is None and tuner.runner.get_run(failed["run_id"])["status"] == "failed"
    assert exp["best"]["parameters"] == {"x": 0.3}


def test_the_experiment_fails_past_max_failed_trial_count(tuner, tmp_path):
    # Failed when more than maxFailedTrialCount trials failed (the rule; maxFailedTrialCount is tolerated).
    exp = run(tuner, tmp_path, katib=discrete_x(["0.95", "0.96", "0.97"], maxTrialCount=3, maxFailedTrialCount=1))
    assert exp["status"] == "failed" and exp["reason"] == "too many failed trials"
    assert [t["status"] for t in exp["trials"]] == ["failed", "failed"]  # the third was never started
    assert exp["best"] is None


def test_an_experiment_whose_every_trial_failed_is_failed_even_within_the_tolerance(tuner, tmp_path):
    exp = run(tuner, tmp_path, katib=discrete_x(["0.95", "0.96"], maxTrialCount=2, maxFailedTrialCount=2))
    assert [t["status"] for t in exp["trials"]] == ["failed", "failed"]
    assert exp["status"] == "failed" and exp["reason"] == "no trial succeeded" and exp["best"] is None


def test_cancel_cancels_the_running_trials_and_resume_continues(tuner, tmp_path):
    path, spec, pipeline = experiment(tmp_path, katib=katib_with(maxTrialCount=4, parallelTrialCount=1), train_s=1.0)
    started = []
    eid = tuner.start(path, spec, pipeline=pipeline, listener=started.append)
    deadline = time.time() + 60

    def trials(status):
        return [e["trial"] for e in list(started) if e["event"] == "trial" and e.get("status") == status]

    # Cancel once a trial has succeeded and the next one is running (it trains for 1 s, so it is still running then).
    while not (trials("succeeded") and any(n > min(trials("succeeded")) for n in trials("running"))):
        assert time.time() < deadline
        time.sleep(0.05)
    exp = tuner.cancel(eid)
    assert exp["status"] == "cancelled" and exp["reason"] == "cancelled"
    done = [t for t in exp["trials"] if t["status"] == "succeeded"]
    assert done and len(exp["trials"]) < 4  # one trial at a time: the cancel came long before the budget of 4
    cancelled = [t for t in exp["trials"] if t["status"] == "cancelled"]
    assert cancelled, "the trial running at the cancel is recorded cancelled"
    for t in cancelled:
        assert tuner.runner.get_run(t["run_id"])["status"] == "cancelled"
    assert tuner.resume(eid) == eid
    exp = tuner.wait(eid, timeout=120)
    assert exp["status"] == "succeeded" and exp["reason"] == "maxTrialCount reached"
    finished = [t for t in exp["trials"] if t["status"] in ("succeeded", "failed")]
    assert len(finished) == 4
    points = [(t["parameters"]["x"], t["parameters"]["y"]) for t in finished]
    assert len(set(points)) == 4  # the fresh grid suggester was told the finished trials: no point twice
    numbers = [t["trial"] for t in exp["trials"]]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def test_automl_runs_every_family_then_tunes_the_best(tuner, tmp_path):
    path, spec, pipeline = experiment(tmp_path, automl=AUTOML, katib=katib_with(maxTrialCount=6))
    eid = tuner.start(path, spec, pipeline=pipeline, automl=True)
    exp = tuner.wait(eid, timeout=120)
    assert exp["status"] == "succeeded"
    families = [t for t in exp["trials"] if t["stage"] == "families"]
    tuned = [t for t in exp["trials"] if t["stage"] == "tune"]
    assert sorted(t["parameters"]["mode"] for t in families) == ["a", "b"]
    by_family = {t["parameters"]["mode"]: t["parameters"] for t in families}  # the family's own at the defaults
    assert by_family == {"a": {"mode": "a", "x": 0.2}, "b": {"mode": "b", "y": 2}}
    assert exp["automl"]["best_family"] == "b"
    assert exp["automl"]["families"] == {"a": pytest.approx(7.9), "b": pytest.approx(8.9)}
    assert len(tuned) == 4 and all(
        t["parameters"]["mode"] == "b" and set(t["parameters"]) == {"mode", "y"} for t in tuned
    )
    assert exp["best"]["parameters"] == {"mode": "b", "y": 3} and exp["best"]["objective"] == pytest.approx(9.9)
    assert min(t["trial"] for t in tuned) > max(t["trial"] for t in families)


def test_experiments_are_listed_per_notebook(tuner, tmp_path):
    exp = run(tuner, tmp_path, katib=katib_with(maxTrialCount=2))
    listed = tuner.list(str(tmp_path / "objective.ipynb"))
    assert [e["experiment_id"] for e in listed] == [exp["experiment_id"]]
    assert tuner.get(exp["experiment_id"])["trials"] == exp["trials"]


def test_a_runner_shut_down_under_the_experiment_cancels_it(tuner, tmp_path):
    # The server stops its runner: the running trial is cancelled and no new trial can start; that is no failure.
    path, spec, pipeline = experiment(tmp_path, katib=katib_with(maxTrialCount=6, parallelTrialCount=1), train_s=0.3)
    events: list[dict] = []
    eid = tuner.start(path, spec, pipeline=pipeline, listener=events.append)
    deadline = time.time() + 60
    while not any(e["event"] == "trial" and e["status"] == "succeeded" for e in events):
        assert time.time() < deadline
        time.sleep(0.05)
    tuner.runner.close()
    exp = tuner.wait(eid, timeout=60)
    assert exp["status"] == "cancelled" and exp["reason"] == "cancelled"
    assert "failed" not in {t["status"] for t in exp["trials"]}


def test_resume_refuses_an_experiment_its_notebook_no_longer_fits(tuner, tmp_path):
    path, spec, pipeline = experiment(tmp_path, katib=katib_with(maxTrialCount=4, parallelTrialCount=1))
    eid = tuner.start(path, spec, pipeline=pipeline)
    assert tuner.cancel(eid)["status"] == "cancelled"
    nb = json.loads(open(path).read())
    for cell in nb["cells"]:
        if "pipeline-parameters" in cell["metadata"].get("tags", []):
            cell["source"] = ["y = 2\n", 'mode = "a"\n', "load_s = 0.0\n", "train_s = 0.0\n"]  # x removed
    open(path, "w").write(json.dumps(nb))
    with pytest.raises(TuningError) as info:
        tuner.resume(eid)
    assert info.value.code == "tune.invalid" and "'x' is not a pipeline parameter" in info.value.message
    assert tuner.get(eid)["status"] == "cancelled"


def test_a_larger_budget_continues_a_finished_experiment(tuner, tmp_path):
    # Katib's restart: an experiment that succeeded by reaching maxTrialCount continues with a larger one.
    path, spec, pipeline = experiment(tmp_path, katib=katib_with(maxTrialCount=3, parallelTrialCount=1))
    eid = tuner.start(path, spec, pipeline=pipeline)
    first = tuner.wait(eid, timeout=120)
    assert first["status"] == "succeeded" and first["reason"] == "maxTrialCount reached"
    with pytest.raises(TuningError) as info:
        tuner.resume(eid)  # no larger budget: nothing to continue
    assert info.value.code == "tune.not_resumable"
    with pytest.raises(TuningError) as info:
        tuner.resume(eid, max_trials=3)
    assert "must be greater than the 3 trials" in info.value.message
    assert tuner.resume(eid, max_trials=6, parallel=2) == eid
    done = tuner.wait(eid, timeout=120)
    assert done["status"] == "succeeded" and len(done["trials"]) == 6
    assert done["spec"]["maxTrialCount"] == 6 and done["spec"]["parallelTrialCount"] == 2
    assert [t["parameters"] for t in done["trials"][:3]] == [t["parameters"] for t in first["trials"]]
    assert len({(t["parameters"]["x"], t["parameters"]["y"]) for t in done["trials"]}) == 6
