"""The Katib Experiment manifest: built for real notebooks, admitted by Katib's webhook rules, its Job valid against the
Kubernetes schema; every rule broken on purpose is named."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from kale_ext.tuning import katib
from kale_ext.tuning.katib_rules import KatibError, job_schema_problems, validate_experiment
from kale_ext.tuning.space import Algorithm, Objective, Parameter

from .katib_helpers import compiled, small_notebook, small_spec

pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install 'kale-ext[kfp]')")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = small_notebook(tmp_path_factory.mktemp("nb") / "small.ipynb")
    return compiled(path)[1]


@pytest.fixture(scope="module")
def wine():
    return compiled(str(EXAMPLES / "wine_classification.ipynb"))[1]


@pytest.fixture
def manifest(small):
    return katib.build_manifests(small_spec(seed=7), name="small-tune", namespace="team-a", pipeline_package=small.yaml)


def container(exp):
    return exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]


def test_the_example_notebooks_experiment_is_admitted_and_its_job_is_a_valid_kubernetes_job(wine):
    spec = small_spec(
        parameters=(Parameter("C", "double", "0.01", "10"), Parameter("MAX_DEPTH", "int", "2", "8")),
        objective=Objective("maximize", "lr_accuracy", 0.99, ("rf_accuracy", "gb_accuracy")),
        algorithm=Algorithm("bayesianoptimization", (("n_initial_points", "4"),)),
    )
    configmap, exp = katib.build_manifests(spec, name="wine-tune", namespace="team-a", pipeline_package=wine.yaml)
    assert validate_experiment(exp) == []
    assert job_schema_problems(exp) == []
    assert exp["spec"]["parameters"] == [p.to_katib() for p in spec.parameters]
    assert exp["spec"]["objective"] == spec.objective.to_katib()
    assert exp["spec"]["metricsCollectorSpec"] == {"collector": {"kind": "StdOut"}}
    assert [p["reference"] for p in exp["spec"]["trialTemplate"]["trialParameters"]] == [
        "${trialSpec.Name}",
        "C",
        "MAX_DEPTH",
    ]
    env = {e["name"]: e.get("value") for e in container(exp)["env"]}
    assert (
        env["KALE_PARAM_C"] == "${trialParameters.C}" and env["KALE_PARAM_MAX_DEPTH"] == "${trialParameters.MAX_DEPTH}"
    )
    # The ConfigMap holds the compile, byte for byte, and the trial is told its hash.
    assert configmap["data"]["pipeline.yaml"] == wine.yaml
    sha = katib.package_sha256(wine.yaml)
    assert configmap["metadata"]["annotations"][katib.PACKAGE_SHA_ANNOTATION] == sha
    assert sha in container(exp)["args"][0]
    volumes = exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["volumes"]
    assert volumes[0] == {"name": "kale-pipeline", "configMap": {"name": "wine-tune-pipeline"}}


def test_the_trial_container_runs_the_trial_program_with_shell_safe_arguments(manifest):
    c = container(manifest[1])
    assert c["name"] == manifest[1]["spec"]["trialTemplate"]["primaryContainerName"] == katib.TRIAL_CONTAINER
    assert c["command"] == ["sh", "-c"]
    install, program = c["args"][0].split(" && ")
    assert install.startswith("python3 -m pip install") and "'kale-ext==" in install and "'kfp==" in install
    argv = program.split(" ")
    assert argv[:3] == ["python3", "-m", "kale_ext.tuning.katib_trial"]
    assert argv[argv.index("--objective") + 1] == "score" and argv[argv.index("--metric") + 1] == "loss"
    assert c["image"] == katib.DEFAULT_TRIAL_IMAGE
    # Without requirements (the image holds everything) the program is the command itself.
    _, bare = katib.build_manifests(
        small_spec(),
        name="x-tune",
        namespace="ns",
        pipeline_package=manifest[0]["data"]["pipeline.yaml"],
        requirements=[],
    )
    assert container(bare)["command"][:3] == ["python3", "-m", "kale_ext.tuning.katib_trial"]
    assert validate_experiment(bare) == [] and job_schema_problems(bare) == []


def test_the_seed_becomes_katibs_random_state_and_counts_are_carried(manifest):
    spec = manifest[1]["spec"]
    assert spec["algorithm"] == {
        "algorithmName": "random",
        "algorithmSettings": [{"name": "random_state", "value": "7"}],
    }
    assert (spec["parallelTrialCount"], spec["maxTrialCount"], spec["maxFailedTrialCount"]) == (2, 6, 2)


def test_a_parameter_that_is_no_pipeline_input_is_refused(small):
    spec = small_spec(parameters=(Parameter("NOPE", "double", "0.1", "1"),))
    with pytest.raises(KatibError) as err:
        katib.build_manifests(spec, name="small-tune", namespace="ns", pipeline_package=small.yaml)
    assert err.value.code == "tune.invalid"
    assert any("'NOPE' is not an input of the compiled pipeline" in p for p in err.value.details["problems"])


def _set(path: str, value):
    def mutate(exp):
        node = exp
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        last = keys[-1]
        if value is DELETE:
            del node[last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


DELETE = object()
TT = "spec.trialTemplate"
JOB = f"{TT}.trialSpec"
POD = f"{JOB}.spec.template.spec"

# (mutation, a phrase the problem must contain): each webhook rule of Katib's validator, plus ours.
VIOLATIONS = [
    (_set("metadata.name", "a" * 41), "at most 40 characters"),
    (_set("metadata.name", "Tune_1"), "DNS-1035"),
    (_set("metadata.name", "1tune"), "DNS-1035"),
    (_set("spec.objective.type", "maximise"), "must be minimize or maximize"),
    (_set("spec.objective.objectiveMetricName", ""), "objectiveMetricName is required"),
    (_set("spec.objective.additionalMetricNames", ["loss", "score"]), "must not contain the objective metric"),
    (_set("spec.objective.additionalMetricNames", ["lo ss"]), "StdOut collector"),
    (_set("spec.algorithm.algorithmName", "simulated-annealing"), "no suggestion service"),
    (_set("spec.algorithm", DELETE), "spec.algorithm is required"),
    (_set("spec.algorithm.algorithmSettings", [{"name": "random_state", "value": 7}]), "string value"),
    (_set("spec.earlyStopping", {"algorithmName": "hyperband"}), "only early stopping is medianstop"),
    (_set("spec.parallelTrialCount", 0), "parallelTrialCount 0 must be greater than 0"),
    (_set("spec.maxTrialCount", 1), "parallelTrialCount 2 must be less than or equal to spec.maxTrialCount 1"),
    (_set("spec.maxFailedTrialCount", 9), "maxFailedTrialCount 9 must be less than or equal"),
    (_set("spec.maxFailedTrialCount", -1), "must not be less than 0"),
    (_set("spec.maxTrialCount", 0), "maxTrialCount 0 must be greater than 0"),
    (_set("spec.parameters", []), "at least one parameter"),
    (_set("spec.parameters.0.parameterType", "float"), "parameterType 'float' is not supported"),
    (_set("spec.parameters.0.feasibleSpace", {}), "feasibleSpace must be specified"),
    (_set("spec.parameters.0.feasibleSpace", {"min": "0.1"}), "min and feasibleSpace.max must be specified"),
    (_set("spec.parameters.0.feasibleSpace", {"min": "3", "max": "1"}), "is greater than max"),
    (_set("spec.parameters.0.feasibleSpace", {"min": 0.1, "max": "2"}), "must be a string"),
    (_set("spec.parameters.0.feasibleSpace", {"min": "0", "max": "1", "list": ["1"]}), "list is not supported"),
    (_set("spec.parameters.0.feasibleSpace.distribution", "beta"), "distribution 'beta' is not supported"),
    (
        _set("spec.parameters.1", {"name": "ROUNDS", "parameterType": "categorical", "feasibleSpace": {"list": []}}),
        "at least one value",
    ),
    (
        _set(
            "spec.parameters.1",
            {"name": "ROUNDS", "parameterType": "discrete", "feasibleSpace": {"min": "1", "list": ["1"]}},
        ),
        "min, max and step are not supported",
    ),
    (
        _set(
            "spec.parameters.1", {"name": "ROUNDS", "parameterType": "categorical", "feasibleSpace": {"list": ['a"b']}}
        ),
        "breaks Katib's substitution",
    ),
    (_set("spec.parameters.1.name", "RATE"), "listed twice"),
    (_set(f"{TT}.primaryContainerName", ""), "primaryContainerName must be specified"),
    (_set(f"{TT}.primaryContainerName", "main"), "is not a container of the Job"),
    (_set(f"{TT}.trialParameters", None), "trialParameters must be specified"),
    (_set(f"{TT}.trialSpec", DELETE), "trialSpec or spec.trialTemplate.configMap must be specified"),
    (_set(f"{TT}.configMap", {"configMapName": "t"}), "only one of spec.trialTemplate.trialSpec"),
    (_set(f"{TT}.trialParameters.1.reference", "NOPE"), "reference 'NOPE' is not a parameter"),
    (_set(f"{TT}.trialParameters.2.name", "RATE"), "name 'RATE' is declared twice"),
    (_set(f"{TT}.trialParameters.2.reference", "RATE"), "reference 'RATE' is used twice"),
    (_set(f"{TT}.trialParameters.1.name", "RA{TE}"), "must not contain"),
    (_set(f"{POD}.containers.0.env.6.value", "fixed"), "${trialParameters.RATE} is not used"),
    (_set(f"{POD}.containers.0.env.0.value", "${trialParameters.other}"), "not declared in spec.trialTemplate"),
    (_set(f"{JOB}.metadata", {"name": "fixed"}), "must be omitted"),
    (_set(f"{JOB}.kind", ""), "apiVersion and kind"),
    (_set(f"{POD}.containers.0.command", ["python", "-m", "x", "--v", "a b"]), "split or reinterpreted"),
    (_set("spec.metricsCollectorSpec", {"collector": {"kind": "Stdout"}}), "collector.kind 'Stdout' is invalid"),
    (_set("spec.metricsCollectorSpec", {"collector": {"kind": "File"}}), "kind File and an absolute path"),
    (_set("spec.metricsCollectorSpec.source", {"filter": {"metricsFormat": ["([a-z]+)=.*"]}}), "needs two groups"),
]


@pytest.mark.parametrize(("mutate", "phrase"), VIOLATIONS, ids=[v[1] for v in VIOLATIONS])
def test_each_webhook_rule_broken_on_purpose_is_named(manifest, mutate, phrase):
    exp = copy.deepcopy(manifest[1])
    assert validate_experiment(exp) == []
    mutate(exp)
    problems = validate_experiment(exp)
    assert any(phrase in p for p in problems), problems


def test_every_problem_is_reported_at_once(manifest):
    exp = copy.deepcopy(manifest[1])
    exp["metadata"]["name"] = "X"
    exp["spec"]["maxFailedTrialCount"] = 99
    exp["spec"]["parameters"][0]["feasibleSpace"] = {"min": "5", "max": "1"}
    exp["spec"]["trialTemplate"]["primaryContainerName"] = "main"
    assert len(validate_experiment(exp)) == 4


def test_the_job_schema_check_catches_a_wrong_type_and_an_unknown_field(manifest):
    exp = copy.deepcopy(manifest[1])
    pod = exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]
    pod["containers"][0]["imagePullPolicy"] = ["Always"]
    assert job_schema_problems(exp)
    exp = copy.deepcopy(manifest[1])
    exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["restartPolicyy"] = "Never"
    assert any("restartPolicyy" in p for p in job_schema_problems(exp))


def test_manifests_survive_a_yaml_and_json_round_trip(manifest):
    text = yaml.safe_dump_all(manifest, sort_keys=False)
    docs = list(yaml.safe_load_all(text))
    assert docs == json.loads(json.dumps(manifest))
    assert validate_experiment(docs[1]) == []
