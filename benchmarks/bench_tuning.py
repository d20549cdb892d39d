"""Benchmark of tuning, printed beside Katib's own algorithms run the way Katib runs them (not a test).

    .venv/bin/python benchmarks/bench_tuning.py --quick      # 2 seeds (bayesianoptimization 1), 20 trials, 6-trial pipeline
    .venv/bin/python benchmarks/bench_tuning.py              # 5 seeds, 20 and 50 trials, the 16-trial pipeline

Branin (optimum 0.397887; x1 + 6 and x2 + 1 so that every double is > 0, which bayesianoptimization's log-uniform
doubles need): the best objective after 20 and 50 trials, mean over the seeds, and the wall time per experiment, for
random, bayesianoptimization and tpe, ours (kale_ext.tuning.algorithms) beside Katib's suggestion services ported
line for line in benchmarks/katib_anchor.py (skopt for bayesianoptimization, hyperopt for random and tpe, in the
version Katib pins, 0.2.5, installed once under ~/.cache/kale-ext; it is no dependency of kale_ext), both driven by Katib's
loop: rounds of parallelTrialCount suggestions given every finished trial, the same seeds.

The notebook pipeline (generated here): an SVM's C and gamma on scikit-learn's digits, after a data-loading step of
about 1 s that reads no tuned parameter. Ours: kale-ext's Tuner at parallel 2 and at parallel 1, where the load step
runs once and every other trial reuses it from the cache; Katib's way: its algorithm, every trial the whole pipeline,
sequentially (the load step every trial). Printed: best accuracy, wall time (and how much of it came after the
load step ended), how many times the load step executed (target 1, read from the run records), the wall time of ours
at parallel 2 over Katib's sequential way (target <= 0.6), and of ours at parallel 2 over ours sequential, whole and
after the load step: an experiment's trials fork from one warm process (the imports cell runs once), so the imports
cell and the load step, run once in both, are most of a 16-trial experiment of a 0.1 s model.
Targets: best values no worse than Katib's on the same objective and seeds (mean, within 1 %).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import katib_anchor as katib  # noqa: E402

from kale_ext.tuning.algorithms import drive, make_suggester  # noqa: E402
from kale_ext.tuning.space import DOUBLE, MINIMIZE, Algorithm, Objective, Parameter  # noqa: E402

BRANIN = (Parameter("u", DOUBLE, "1", "16"), Parameter("v", DOUBLE, "1", "16"))
BRANIN_KATIB = katib.SearchSpace(
    katib.MIN_GOAL,
    [katib.HyperParameter("u", katib.DOUBLE, "1", "16"), katib.HyperParameter("v", katib.DOUBLE, "1", "16")],
)


def branin(p: dict[str, Any]) -> float:
    x1, x2 = p["u"] - 6, p["v"] - 1
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def sem(values: list[float]) -> float:
    """The standard error of the mean over the seeds: how far two algorithms' means may differ by seed luck alone."""
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0


_HYPEROPT: list[str] = []  # why Katib's hyperopt is missing ("" once it imports)


def has_hyperopt() -> bool:
    """Katib's hyperopt (0.2.5) first on sys.path, installed beside the environment the first time."""
    if not _HYPEROPT:
        try:
            katib.use_katibs_hyperopt()
            import hyperopt  # noqa: F401

            _HYPEROPT.append("")
        except (RuntimeError, ImportError) as exc:
            _HYPEROPT.append(str(exc))
    return _HYPEROPT[0] == ""


def katib_service(name: str, seed: int, space: katib.SearchSpace) -> Any:
    if name == "bayesianoptimization":
        return katib.SkoptService(random_state=seed, search_space=space)
    return katib.HyperoptService(name, {"random_state": seed}, space)


def branin_rows(algorithms: list[str], seeds: int, trials: list[int], parallel: int, bo_seeds: int) -> None:
    most = max(trials)
    print(
        f"Branin, parallelTrialCount {parallel}, {seeds} seeds (bayesianoptimization {bo_seeds}): the best objective "
        "after N trials (mean over the seeds), wall s per experiment; Katib's services as katib_anchor.py ports them"
    )
    print(
        f"  {'algorithm':22s} {'side':6s} "
        + " ".join(f"{'best@' + str(n) + ' ± sem':>15s}" for n in trials)
        + "   wall s"
    )
    for name in algorithms:
        sides = [("ours", None)]
        if name == "bayesianoptimization" or has_hyperopt():
            sides.append(("katib", None))
        results: dict[str, tuple[list[float], float]] = {}
        noise: dict[str, list[float]] = {}
        for side, _ in sides:
            bests: dict[int, list[float]] = {n: [] for n in trials}
            wall = 0.0
            for seed in range(seeds if name != "bayesianoptimization" else bo_seeds):
                t = time.perf_counter()
                if side == "ours":
                    values = [
                        o.value
                        for o in drive(
                            make_suggester(BRANIN, Objective(MINIMIZE, "branin"), Algorithm(name), seed),
                            branin,
                            most,
                            parallel,
                        )
                    ]
                else:
                    service = katib_service(name, seed, BRANIN_KATIB)
                    values = [v for _, v in katib.katib_loop(service, BRANIN_KATIB, branin, most, parallel)]
                wall += time.perf_counter() - t
                for n in trials:
                    bests[n].append(min(values[:n]))
            means = [statistics.mean(bests[n]) for n in trials]
            per = wall / len(bests[trials[0]])
            results[side] = (means, per)
            noise[side] = [sem(bests[n]) for n in trials]
            cells = [f"{statistics.mean(bests[n]):7.3f} ±{sem(bests[n]):6.3f}" for n in trials]
            print(f"  {name:22s} {side:6s} " + " ".join(cells) + f"   {per:6.2f}")
        if "katib" in results:
            ratios = [
                o / k if k else float("nan") for o, k in zip(results["ours"][0], results["katib"][0], strict=True)
            ]
            # worse by more than the seeds' noise (the two means' standard errors combined) is a real loss
            worse = [
                o > 1.01 * k and o - k > math.hypot(so, sk)
                for o, k, so, sk in zip(
                    results["ours"][0], results["katib"][0], noise["ours"], noise["katib"], strict=True
                )
            ]
            verdict = (
                "WORSE than Katib"
                if any(worse)
                else "ok"
                if all(r <= 1.01 for r in ratios)
                else "within the seeds' noise"
            )
            print(
                f"  {'':22s} ours/katib " + " ".join(f"{r:11.3f}" for r in ratios) + f"   ({verdict}; target <= 1.01)"
            )
        else:
            print(f"  {'':22s} katib  (no hyperopt {katib.HYPEROPT_VERSION}: {_HYPEROPT[0]})")


def svm_space(algorithm: str) -> list[tuple[str, str, str]]:
    """C and gamma as such for bayesianoptimization (it searches doubles log-uniformly), else their base-10
    logarithms: random and tpe draw doubles uniformly, as Katib's do."""
    if algorithm == "bayesianoptimization":
        return [("C", "0.01", "100"), ("gamma", "0.0001", "1")]
    return [("log_C", "-2", "2"), ("log_gamma", "-4", "0")]


def svm_notebook(load_s: float, max_trials: int, algorithm: str) -> dict[str, Any]:
    def cell(tags: list[str], source: str) -> dict[str, Any]:
        return {
            "cell_type": "code",
            "metadata": {"tags": tags},
            "source": source,
            "outputs": [],
            "execution_count": None,
        }

    space = svm_space(algorithm)
    katib_metadata = {
        "parameters": [
            {"name": n, "parameterType": "double", "feasibleSpace": {"min": lo, "max": hi}} for n, lo, hi in space
        ],
        "objective": {"type": "maximize", "objectiveMetricName": "accuracy"},
        "algorithm": {"algorithmName": algorithm},
        "parallelTrialCount": 2,
        "maxTrialCount": max_trials,
        "maxFailedTrialCount": 3,
    }
    logs = space[0][0] == "log_C"
    parameters = "log_C = 0.0\nlog_gamma = -2.0" if logs else "C = 1.0\ngamma = 0.01"
    model = "SVC(C=10**log_C, gamma=10**log_gamma)" if logs else "SVC(C=C, gamma=gamma)"
    cells = [
        cell(
            ["imports"],
            "import time\nfrom sklearn.datasets import load_digits\nfrom sklearn.model_selection import "
            "train_test_split\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.svm import SVC",
        ),
        cell(["pipeline-parameters"], parameters),
        cell(
            ["step:load"],
            "started = time.time()\nfeatures, labels = load_digits(return_X_y=True)\n"
            "X_train, X_test, y_train, y_test = train_test_split(features, labels, test_size=0.3, random_state=0)\n"
            "scaler = StandardScaler().fit(X_train)\nX_train, X_test = scaler.transform(X_train), scaler.transform(X_test)\n"
            f"time.sleep(max(0.0, {load_s} - (time.time() - started)))  # a data set that takes {load_s} s to load",
        ),
        cell(
            ["step:train", "prev:load"],
            f"model = {model}.fit(X_train, y_train)\naccuracy = float(model.score(X_test, y_test))",
        ),
        cell(["pipeline-metrics"], "print(accuracy)"),
    ]
    return {
        "cells": cells,
        "metadata": {"kubeflow_notebook": {"katib_metadata": katib_metadata}, "kernelspec": {"name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def load_executions(runner: Any, run_ids: list[str]) -> int:
    count = 0
    for run_id in run_ids:
        steps = runner.get_run(run_id)["steps"]
        count += sum(1 for s in steps if s["name"] == "load" and s["status"] == "succeeded")
    return count


def load_finished(runner: Any, run_ids: list[str]) -> float:
    """When the load step that executed (the trials' shared prefix: imports cell, then load) finished, from the runs."""
    return min(
        s["finished"]
        for run_id in run_ids
        for s in runner.get_run(run_id)["steps"]
        if s["name"] == "load" and s["status"] == "succeeded"
    )


def pipeline_rows(trials: int, algorithm: str, seed: int, load_s: float) -> None:
    from kale_ext.analysis import analyze
    from kale_ext.runners.base import RunOptions
    from kale_ext.runners.local import LocalRunner
    from kale_ext.store import Store
    from kale_ext.tuning.experiment import Tuner
    from kale_ext.tuning.spec import read_experiment, with_overrides

    nb = svm_notebook(load_s, trials, algorithm)
    pipeline = analyze(nb)
    print(
        f"\nNotebook pipeline: SVC C and gamma on digits, load step {load_s} s, {trials} trials, {algorithm}, seed {seed}"
    )
    print(f"  {'way':34s} {'best accuracy':>13s} {'wall s':>8s} {'load runs':>9s}")
    walls: dict[str, float] = {}
    after: dict[str, float] = {}  # wall time after the shared prefix (imports cell and load step, once per experiment)
    for label, parallel in (("kale-ext, parallel 2", 2), ("kale-ext, parallel 1 (sequential)", 1)):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "svm.ipynb")
            with open(path, "w") as f:
                json.dump(nb, f)
            runner = LocalRunner(Store(os.path.join(folder, ".kale")))
            tuner = Tuner(runner)
            try:
                spec = with_overrides(
                    read_experiment(nb, pipeline), parallel=parallel, max_trials=trials, seed=seed, pipeline=pipeline
                )
                t = time.perf_counter()
                exp = tuner.wait(tuner.start(path, spec, pipeline=pipeline), timeout=1800)
                walls[label] = time.perf_counter() - t
                ended = time.time()
                run_ids = [tr["run_id"] for tr in exp["trials"] if tr.get("run_id")]
                loads = load_executions(runner, run_ids)
                after[label] = ended - load_finished(runner, run_ids)
                best = exp["best"]["objective"] if exp["best"] else float("nan")
                print(
                    f"  {label:34s} {best:13.4f} {walls[label]:8.2f} {loads:9d}   ({exp['status']}, {len(exp['trials'])} "
                    f"trials; {walls[label] - after[label]:.2f} s until the load step ended, {after[label]:.2f} s after)"
                )
            finally:
                tuner.close()
                runner.close()
    katib_way(nb, pipeline, trials, algorithm, seed, RunOptions, LocalRunner, Store, walls)
    par, seq = "kale-ext, parallel 2", "kale-ext, parallel 1 (sequential)"
    if "katib" in walls:
        print(
            f"  kale-ext parallel 2 / Katib's way (sequential, the anchor): {walls[par] / walls['katib']:.2f} "
            "(target <= 0.6)"
        )
    print(
        f"  kale-ext parallel 2 / kale-ext sequential: {walls[par] / walls[seq]:.2f} over the whole experiment; "
        f"{after[par] / after[seq]:.2f} after the load step (the part parallel trials can share out: the imports cell "
        "and the load step run once per experiment in both, one after the other)"
    )


def katib_way(nb, pipeline, trials, algorithm, seed, RunOptions, LocalRunner, Store, walls) -> None:  # noqa: N803
    if algorithm != "bayesianoptimization" and not has_hyperopt():
        print(f"  Katib's way: no hyperopt {katib.HYPEROPT_VERSION} ({_HYPEROPT[0]})")
        return
    params = [katib.HyperParameter(n, katib.DOUBLE, lo, hi) for n, lo, hi in svm_space(algorithm)]
    space = katib.SearchSpace(katib.MAX_GOAL, params)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "svm.ipynb")
        with open(path, "w") as f:
            json.dump(nb, f)
        runner = LocalRunner(Store(os.path.join(folder, ".kale")))
        run_ids: list[str] = []

        def whole_pipeline(values: dict[str, Any]) -> float:
            run_id = runner.start(pipeline, path, RunOptions(parameters=values, use_cache=False))
            run_ids.append(run_id)
            return float(runner.wait(run_id)["metrics"]["accuracy"])

        try:
            t = time.perf_counter()
            history = katib.katib_loop(katib_service(algorithm, seed, space), space, whole_pipeline, trials, 1)
            walls["katib"] = time.perf_counter() - t
            loads = load_executions(runner, run_ids)
        finally:
            runner.close()
    best = max(v for _, v in history)
    label = "Katib's way (whole pipeline, seq.)"
    print(f"  {label:34s} {best:13.4f} {walls['katib']:8.2f} {loads:9d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 seeds (bayesianoptimization 1), 20 trials, a 6-trial pipeline"
    )
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument(
        "--parallel", type=int, default=3, help="parallelTrialCount of the Branin runs (Katib's default 3)"
    )
    parser.add_argument("--algorithms", default="random,bayesianoptimization,tpe")
    parser.add_argument("--pipeline-trials", type=int, default=None)
    parser.add_argument("--pipeline-algorithm", default="tpe")
    parser.add_argument("--load-s", type=float, default=1.0)
    parser.add_argument("--no-branin", action="store_true")
    parser.add_argument("--no-pipeline", action="store_true")
    args = parser.parse_args()
    seeds = args.seeds or (2 if args.quick else 5)
    trials = [20] if args.quick else [20, 50]
    if not args.no_branin:
        # the GP's seconds per suggestion: one seed of bayesianoptimization in a quick run
        branin_rows(
            args.algorithms.split(","), seeds, trials, args.parallel, 1 if args.quick and not args.seeds else seeds
        )
        if not args.quick and not args.seeds:
            print("\nThe same with 20 seeds for the cheap algorithms (a smaller seed noise):")
            cheap = [a for a in args.algorithms.split(",") if a != "bayesianoptimization"]
            branin_rows(cheap, 20, trials, args.parallel, 0)
    if not args.no_pipeline:
        pipeline_rows(args.pipeline_trials or (6 if args.quick else 16), args.pipeline_algorithm, 0, args.load_s)


if __name__ == "__main__":
    main()
