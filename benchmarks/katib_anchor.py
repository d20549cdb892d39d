"""Katib's suggestion services, followed literally: the anchor the tuning benchmark and tests compare against.

``SkoptService`` is pkg/suggestion/v1beta1/skopt/base_service.py (BaseSkoptService.getSuggestions) and
``HyperoptService`` pkg/suggestion/v1beta1/hyperopt/base_service.py (random and tpe), with Katib's own small types
(HyperParameter, Trial, Assignment) and without the gRPC shell and the logging. ``katib_loop`` drives a service the
way Katib's experiment controller does on trials that finish together: every round it asks for as many new trials as
may run (parallelTrialCount, fewer at the end), hands the service every succeeded trial so far (values as strings,
as the Trial CRs carry them), and runs the round's trials.

Deliberately independent of kale_ext: it imports scikit-optimize and hyperopt directly and nothing from the package,
so that a test comparing kale_ext's points with these proves the port, not a copy of itself. hyperopt is needed only
for HyperoptService, in the version Katib's suggestion image pins (0.2.5: later ones draw from another generator);
``use_katibs_hyperopt`` installs it once, beside the project's environment, under ~/.cache/kale-ext. It is no
dependency of kale_ext.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

INTEGER, DOUBLE, CATEGORICAL, DISCRETE = "int", "double", "categorical", "discrete"
MAX_GOAL, MIN_GOAL = "MAXIMIZE", "MINIMIZE"


HYPEROPT_VERSION = "0.2.5"  # cmd/suggestion/hyperopt/v1beta1/requirements.txt
# hyperopt 0.2.5 and what it imports that the project's environment may lack (pkg_resources: setuptools before 70).
HYPEROPT_PACKAGES = (
    f"hyperopt=={HYPEROPT_VERSION}", "future", "six", "networkx<3.5", "cloudpickle", "tqdm", "setuptools<70"
)  # fmt: skip


def use_katibs_hyperopt(folder: str | None = None) -> str:
    """Put Katib's hyperopt first on sys.path (installed with pip into ``folder`` the first time, without touching the
    environment); returns the folder. Raises RuntimeError, with pip's words, when it cannot be installed."""
    folder = folder or os.path.join(os.path.expanduser("~"), ".cache", "kale-ext", f"hyperopt-{HYPEROPT_VERSION}")
    marker = os.path.join(folder, ".installed-" + hashlib.sha256(repr(HYPEROPT_PACKAGES).encode()).hexdigest()[:12])
    if not os.path.exists(marker):
        pip = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--upgrade", "--target", folder,
             *HYPEROPT_PACKAGES],
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        if pip.returncode != 0:
            raise RuntimeError(f"cannot install hyperopt {HYPEROPT_VERSION} into {folder}: {pip.stderr.strip()[-300:]}")
        open(marker, "w").close()
    if folder not in sys.path:
        sys.path.insert(0, folder)
    for name in [m for m in sys.modules if m == "hyperopt" or m.startswith("hyperopt.")]:
        del sys.modules[name]  # another hyperopt imported earlier
    return folder


class HyperParameter:
    def __init__(self, name, type_, min_=None, max_=None, list_=(), step=None):
        self.name, self.type, self.min, self.max, self.step = name, type_, min_, max_, step
        self.list = [str(e) for e in list_]
        self.distribution = None
        if type_ == INTEGER and not step:
            self.step = 1  # internal/search_space.py: "Default value for INT parameter step is 1"


class SearchSpace:
    def __init__(self, goal: str, params: list[HyperParameter]):
        self.goal, self.params = goal, params


class Assignment:
    def __init__(self, name, value):
        self.name, self.value = name, value


class Metric:
    def __init__(self, name, value):
        self.name, self.value = name, value


class Trial:
    def __init__(self, name, assignments, target_metric):
        self.name, self.assignments, self.target_metric = name, assignments, target_metric


class SkoptService:
    """BaseSkoptService of Katib, line for line (getSuggestions and convert)."""

    def __init__(self, base_estimator="GP", n_initial_points=10, acq_func="gp_hedge", acq_optimizer="auto",
                 random_state=None, search_space=None):  # fmt: skip
        import skopt

        self.search_space = search_space
        space = []
        for param in search_space.params:
            if param.type == INTEGER:
                space.append(skopt.space.Integer(int(param.min), int(param.max), name=param.name))
            elif param.type == DOUBLE:
                space.append(skopt.space.Real(float(param.min), float(param.max), "log-uniform", name=param.name))
            elif param.type == CATEGORICAL or param.type == DISCRETE:
                space.append(skopt.space.Categorical(param.list, name=param.name))
        self.skopt_optimizer = skopt.Optimizer(space, base_estimator=base_estimator, n_initial_points=n_initial_points,
                                               acq_func=acq_func, acq_optimizer=acq_optimizer,
                                               random_state=random_state)  # fmt: skip
        self.succeeded_trials = 0
        self.recorded_trials_names = []

    def getSuggestions(self, trials, current_request_number):  # noqa: N802 (Katib's name)
        skopt_suggested = []
        loss_for_skopt = []
        if len(trials) > self.succeeded_trials or self.succeeded_trials == 0:
            self.succeeded_trials = len(trials)
            for trial in trials:
                if trial.name not in self.recorded_trials_names:
                    self.recorded_trials_names.append(trial.name)
                    trial_assignment = []
                    for param in self.search_space.params:
                        parameter_value = None
                        for assignment in trial.assignments:
                            if assignment.name == param.name:
                                parameter_value = assignment.value
                                break
                        if param.type == INTEGER:
                            trial_assignment.append(int(parameter_value))
                        elif param.type == DOUBLE:
                            trial_assignment.append(float(parameter_value))
                        else:
                            trial_assignment.append(parameter_value)
                    skopt_suggested.append(trial_assignment)
                    loss_value = float(trial.target_metric.value)
                    if self.search_space.goal == MAX_GOAL:
                        loss_value = -1 * loss_value
                    loss_for_skopt.append(loss_value)
            if loss_for_skopt != [] and skopt_suggested != []:
                self.skopt_optimizer.tell(skopt_suggested, loss_for_skopt)
        return_trial_list = []
        skopt_suggested = self.skopt_optimizer.ask(n_points=current_request_number)
        for suggestion in skopt_suggested:
            return_trial_list.append(
                [Assignment(p.name, suggestion[i]) for i, p in enumerate(self.search_space.params)]
            )
        return return_trial_list


class HyperoptService:
    """BaseHyperoptService of Katib (random and tpe), line for line for uniform distributions."""

    def __init__(self, algorithm_name="tpe", algorithm_conf=None, search_space=None):
        import hyperopt
        import numpy as np

        self.hyperopt = hyperopt
        self.algorithm_name = algorithm_name
        self.algorithm_conf = dict(algorithm_conf or {})
        random_state = self.algorithm_conf.pop("random_state", None)
        self.hyperopt_algorithm = hyperopt.tpe.suggest if algorithm_name == "tpe" else hyperopt.rand.suggest
        self.search_space = search_space
        self.hyperopt_rstate = np.random.RandomState(random_state)
        hp = hyperopt.hp
        space = {}
        for param in search_space.params:
            if param.type in [INTEGER, DOUBLE]:
                if param.step:
                    space[param.name] = hp.quniform(param.name, float(param.min), float(param.max), float(param.step))
                elif param.type == INTEGER:
                    space[param.name] = hp.uniformint(param.name, float(param.min), float(param.max))
                else:
                    space[param.name] = hp.uniform(param.name, float(param.min), float(param.max))
            elif param.type in [CATEGORICAL, DISCRETE]:
                space[param.name] = hp.choice(param.name, param.list)
        self.hyperopt_domain = hyperopt.Domain(None, space, pass_expr_memo_ctrl=None)
        self.fmin = hyperopt.FMinIter(self.hyperopt_algorithm, self.hyperopt_domain, trials=hyperopt.Trials(),
                                      max_evals=-1, rstate=self.hyperopt_rstate, verbose=False)  # fmt: skip
        self.fmin.catch_eval_exceptions = False
        self.is_first_run = True

    def getSuggestions(self, trials, current_request_number):  # noqa: N802 (Katib's name)
        hyperopt = self.hyperopt
        recorded_trials_names = self.fmin.trials.specs
        new_ids, specs, results, miscs = [], [], [], []
        for trial in trials:
            if {"trial-name": trial.name} not in recorded_trials_names:
                new_id = self.fmin.trials.new_trial_ids(1)
                new_ids.append(new_id[0])
                idxs, vals = {}, {}
                misc = dict(tid=new_id[0], cmd=self.hyperopt_domain.cmd, workdir=self.hyperopt_domain.workdir)
                for param in self.search_space.params:
                    parameter_value = None
                    for assignment in trial.assignments:
                        if assignment.name == param.name:
                            parameter_value = assignment.value
                            break
                    idxs[param.name] = new_id
                    if param.type == INTEGER:
                        vals[param.name] = [int(parameter_value)]
                    elif param.type == DOUBLE:
                        vals[param.name] = [float(parameter_value)]
                    else:
                        vals[param.name] = [param.list.index(parameter_value)]
                misc["idxs"], misc["vals"] = idxs, vals
                miscs.append(misc)
                specs.append({"trial-name": trial.name})
                loss = float(trial.target_metric.value)
                if self.search_space.goal == MAX_GOAL:
                    loss = -1 * loss
                results.append({"loss": loss, "status": hyperopt.STATUS_OK})
        if len(trials) > 0:
            docs = hyperopt.Trials().new_trial_docs(tids=new_ids, specs=specs, results=results, miscs=miscs)
            for doc in docs:
                doc["state"] = hyperopt.JOB_STATE_DONE
            self.fmin.trials.insert_trial_docs(docs)
            self.fmin.trials.refresh()
        ids = self.fmin.trials.new_trial_ids(current_request_number)
        random_state = self.fmin.rstate.randint(2**31 - 1)
        new_trials = []
        if self.algorithm_name == "random":
            new_trials = self.hyperopt_algorithm(new_ids=ids, domain=self.fmin.domain, trials=self.fmin.trials,
                                                 seed=random_state)  # fmt: skip
        elif self.is_first_run:
            new_trials = self.hyperopt_algorithm(new_ids=ids, domain=self.fmin.domain, trials=self.fmin.trials,
                                                 seed=random_state, n_startup_jobs=current_request_number,
                                                 **self.algorithm_conf)  # fmt: skip
            self.is_first_run = False
        else:
            for i in range(current_request_number):
                new_trials.append(self.hyperopt_algorithm(new_ids=[ids[i]], domain=self.fmin.domain,
                                                          trials=self.fmin.trials, seed=random_state,
                                                          n_startup_jobs=current_request_number,
                                                          **self.algorithm_conf)[0])  # fmt: skip
        out = []
        for trial in new_trials:
            vals = trial["misc"]["vals"]
            row = []
            for param in self.search_space.params:
                if param.type == INTEGER:
                    row.append(Assignment(param.name, int(vals[param.name][0])))
                elif param.type == DOUBLE:
                    row.append(Assignment(param.name, vals[param.name][0]))
                else:
                    row.append(Assignment(param.name, param.list[vals[param.name][0]]))
            out.append(row)
        return out


def typed(param: HyperParameter, text: str) -> Any:
    if param.type == INTEGER:
        return int(text)
    if param.type == DOUBLE:
        return float(text)
    return text


def katib_loop(
    service: Any, search_space: SearchSpace, fn: Callable[[dict[str, Any]], float], max_trials: int, parallel: int
) -> list[tuple[dict[str, Any], float]]:
    """Katib's controller on trials that finish together: rounds of min(parallel, remaining) suggestions, each call
    given every succeeded trial so far with its assignments as strings. Returns [(assignments, objective)]."""
    done: list[Trial] = []
    history: list[tuple[dict[str, Any], float]] = []
    while len(history) < max_trials:
        request = min(parallel, max_trials - len(history))
        suggestions = service.getSuggestions(list(done), request)
        if not suggestions:
            break
        for assignments in suggestions:
            strings = [Assignment(a.name, str(a.value)) for a in assignments]
            params = {p.name: p for p in search_space.params}
            values = {a.name: typed(params[a.name], a.value) for a in strings}
            value = fn(values)
            history.append((values, value))
            done.append(Trial(f"trial-{len(history)}", strings, Metric("objective", str(value))))
    return history
