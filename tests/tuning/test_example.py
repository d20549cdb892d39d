"""examples/svm_tuning.ipynb tunes as shipped: its experiment reads and validates, trials succeed with a real
accuracy, the load step is executed once, and --automl names the best family with its hyperparameters."""

from __future__ import annotations

import os
import shutil

from kale_ext.runners.local import LocalRunner
from kale_ext.store import Store
from kale_ext.tuning.experiment import Tuner, load_pipeline
from kale_ext.tuning.spec import read_experiment, with_overrides

EXAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples", "svm_tuning.ipynb"
)


def test_svm_tuning_example(tmp_path):
    path = str(tmp_path / "svm_tuning.ipynb")
    shutil.copy(EXAMPLE, path)
    nb, pipeline = load_pipeline(path)
    spec = read_experiment(nb, pipeline)
    assert [p.name for p in spec.parameters] == ["C", "gamma"] and spec.objective.metric == "accuracy"
    assert sorted(spec.automl.families) == ["logreg", "rf", "svm"]
    runner = LocalRunner(Store(str(tmp_path / "store")), use_fork=True)
    tuner = Tuner(runner)
    try:
        plain = tuner.wait(tuner.start(path, with_overrides(spec, max_trials=3, seed=1), pipeline=pipeline), 300)
        automl = tuner.start(path, with_overrides(spec, max_trials=4, seed=1), pipeline=pipeline, automl=True)
        automl = tuner.wait(automl, 300)
    finally:
        tuner.close()
        runner.close()
    assert plain["status"] == "succeeded" and len(plain["trials"]) == 3
    assert all(0.3 < t["objective"] <= 1.0 for t in plain["trials"])
    loads = [
        next(s["status"] for s in runner.get_run(t["run_id"])["steps"] if s["name"] == "load")
        for e in (plain, automl)
        for t in e["trials"]
    ]
    assert loads.count("succeeded") == 1 and loads.count("cached") == len(loads) - 1  # loaded once, both experiments
    assert automl["status"] == "succeeded"
    family = automl["automl"]["best_family"]
    assert set(automl["automl"]["families"]) == {"svm", "logreg", "rf"}
    assert automl["automl"]["families"][family] == max(v for v in automl["automl"]["families"].values())
    assert automl["best"]["parameters"]["model_family"] == family
    own = {p.name for p in spec.automl.families[family]}
    assert own <= set(automl["best"]["parameters"])  # the best family's values are named
    tuned = [t for t in automl["trials"] if t["stage"] == "tune"]
    assert len(tuned) == 1 and tuned[0]["parameters"]["model_family"] == family
