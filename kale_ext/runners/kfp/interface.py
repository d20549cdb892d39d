"""The KFP interface of each step: function name, parameter inputs, artifact inputs and outputs, metrics output.

Each variable that flows between steps is one output artifact of its producer and one input artifact of each consumer,
named after the variable. KFP gives a component's inputs and outputs one namespace (they are the arguments of one Python
function), so where a step both reads and rewrites a name, its input takes the suffix ``_in`` and the output keeps the
variable's name. Pipeline parameters keep their names and get their KFP type from the notebook default.

Plain Python: never imports kfp, tornado or jupyter_server.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from typing import Any

from ...pipeline.model import Diagnostic, Pipeline
from ...steps.program import parameters_read
from ...steps.spec import StepSpec, build_specs

# The Python annotation and KFP parameterType of a pipeline parameter, by the type of its notebook default.
PARAMETER_TYPES: dict[type, tuple[str, str]] = {
    bool: ("bool", "BOOLEAN"),
    int: ("int", "NUMBER_INTEGER"),
    float: ("float", "NUMBER_DOUBLE"),
    str: ("str", "STRING"),
    list: ("list", "LIST"),
    tuple: ("list", "LIST"),
    dict: ("dict", "STRUCT"),
}
# Names a component function or argument must not take: kfp's reserved output name, the names the generated module
# and kfp's component preamble (``from kfp.dsl import *``) bind, and the generated body's own local name.
RESERVED = frozenset({"Output", "Input", "Dataset", "Metrics", "Artifact", "Model", "kfp", "dsl", "executor_input"})
ENTRY_NAME = "_kale_ext_entry"
SUFFIX_IN = "_in"


@dataclass
class StepInterface:
    name: str  # the step's name in the notebook
    func: str  # the component function's name (a Python identifier)
    spec: StepSpec
    parameters: dict[str, str] = field(default_factory=dict)  # argument -> pipeline parameter
    inputs: dict[str, str] = field(default_factory=dict)  # argument -> variable
    outputs: dict[str, str] = field(default_factory=dict)  # argument -> variable
    metrics: str | None = None  # the Metrics output's argument, when the step holds pipeline metrics

    def output_of(self, variable: str) -> str:
        return next(arg for arg, var in self.outputs.items() if var == variable)


@dataclass
class PipelineInterface:
    steps: list[StepInterface]
    parameters: dict[str, tuple[str, Any]]  # pipeline parameter -> (annotation, default as KFP carries it)
    tuples: list[str]  # parameters whose notebook default is a tuple
    diagnostics: list[Diagnostic]


def _free(name: str, taken: set[str], suffix: str) -> str:
    out = name
    while out in taken or out in RESERVED or out == ENTRY_NAME or keyword.iskeyword(out):
        out += suffix
    taken.add(out)
    return out


def function_names(names: list[str]) -> list[str]:
    """Step names as Python identifiers, unique (step names may hold '-')."""
    taken: set[str] = set()
    out = []
    for name in names:
        ident = name.replace("-", "_")
        out.append(_free(ident if ident.isidentifier() else f"step_{ident}", taken, "_"))
    return out


def parameter_interface(pipeline: Pipeline) -> tuple[dict[str, tuple[str, Any]], list[str], list[Diagnostic]]:
    params, tuples, diagnostics = {}, [], []
    cell = pipeline.parameters_cells[0].index if pipeline.parameters_cells else None
    for name, default in pipeline.parameters.items():
        kind = PARAMETER_TYPES.get(type(default))
        problem = None
        if kind is None:
            problem = f"its default {default!r} is a {type(default).__name__}"
        elif isinstance(default, dict) and not all(isinstance(k, str) for k in default):
            problem = "its default is a dict with keys that are not strings (a KFP STRUCT is a JSON object)"
        if problem:
            diagnostics.append(
                Diagnostic(
                    "error",
                    "kfp.parameter_type",
                    cell,
                    _line_of(pipeline, name),
                    f"pipeline parameter {name!r} cannot be a KFP pipeline input: {problem}; KFP parameters are int, "
                    "float, str, bool, list or dict (with string keys). Change the default or make it a variable",
                )
            )
            continue
        assert kind is not None  # a parameter without a KFP type is a diagnostic above
        if isinstance(default, tuple):
            tuples.append(name)
            default = list(default)
        params[name] = (kind[0], default)
    return params, tuples, diagnostics


def _line_of(pipeline: Pipeline, name: str) -> int | None:
    for cell in pipeline.parameters_cells:
        for i, line in enumerate(cell.source.splitlines(), start=1):
            head = line.split("=", 1)[0].strip()
            if "=" in line and name in [p.strip() for p in head.split(",")]:
                return i
    return None


def build_interface(pipeline: Pipeline) -> PipelineInterface:
    params, tuples, diagnostics = parameter_interface(pipeline)
    specs = build_specs(pipeline)
    # Metrics held by no step (pipeline parameters, prelude values): the last step logs them, it holds them too.
    orphans = sorted(m for m in pipeline.metrics if pipeline.metric_sources.get(m, "") == "")
    if orphans and specs:
        specs[-1].metrics = sorted(set(specs[-1].metrics) | set(orphans))
    steps = []
    for spec, func in zip(specs, function_names([s.name for s in specs]), strict=True):
        taken: set[str] = set()
        outputs = {_free(v, taken, "_out"): v for v in spec.outputs}
        read = set(parameters_read(spec, {p: "" for p in pipeline.parameters}))
        read |= {m for m in spec.metrics if m in pipeline.parameters}
        iface = StepInterface(
            name=spec.name,
            func=func,
            spec=spec,
            parameters={_free(p, taken, SUFFIX_IN): p for p in sorted(read) if p in params},
            inputs={_free(v, taken, SUFFIX_IN): v for v in spec.inputs},
            outputs=outputs,
            metrics=_free("metrics", taken, "_out") if spec.metrics else None,
        )
        steps.append(iface)
    return PipelineInterface(steps, params, tuples, diagnostics)
