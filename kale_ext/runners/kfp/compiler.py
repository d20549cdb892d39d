"""The pipeline model compiled to KFP v2 IR YAML through the kfp SDK: one lightweight Python component per step
(``components``), wired in a ``dsl.pipeline`` function whose inputs are the pipeline parameters, configured through kfp
and kfp-kubernetes (``config``), compiled by ``kfp.compiler.Compiler``. Never hand-written IR.

``compile_pipeline(pipeline, nb=..., image=...)`` returns the YAML text (PipelineSpec, then the kubernetes PlatformSpec
when a step uses kfp-kubernetes), the pipeline's KFP name, its steps and parameters, and the compile diagnostics
(warnings for configuration that could not be compiled). Analysis errors, and pipeline parameters KFP cannot carry,
raise CompileError before anything is built.

Imports kfp lazily; never imports tornado or jupyter_server.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import tempfile
from collections import namedtuple
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ...errors import KaleError
from ...notebook import tags as T
from ...pipeline.model import Diagnostic, Pipeline, Step
from . import require_kfp
from .config import StepConfigurator, warn
from .interface import PARAMETER_TYPES, PipelineInterface, StepInterface, build_interface
from .requirements import Requirements, compute_requirements
from .volumes import create_volumes, mount_volumes, volume_plan, with_snapshots

DEFAULT_IMAGE = f"python:{sys.version_info.major}.{sys.version_info.minor}"  # the pins are for this Python
_ANNOTATIONS = {"bool": bool, "int": int, "float": float, "str": str, "list": list, "dict": dict}


class CompileError(KaleError):
    status = 422
    code = "kfp.compile"


@dataclass
class CompileResult:
    yaml: str
    name: str  # the KFP pipeline name (DNS-like), from the notebook settings or file name
    display_name: str
    description: str
    steps: list[str]
    parameters: dict[str, dict[str, Any]]  # name -> {"type": KFP parameterType, "default": value}
    requirements: Requirements
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def to_json(self, file: str | None = None) -> dict[str, Any]:
        return {
            "file": file,
            "pipeline": {"name": self.name, "display_name": self.display_name, "description": self.description},
            "steps": list(self.steps),
            "parameters": self.parameters,
            "requirements": list(self.requirements.pins),
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }


def kfp_name(name: str) -> str:
    """A KFP pipeline name: ^[a-z0-9][a-z0-9-]{0,127}$."""
    out = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:128].strip("-")
    return out or "pipeline"


def _describe(d: Diagnostic) -> str:
    where = f"cell {d.cell}" if d.cell is not None else "notebook settings"
    if d.line is not None:
        where += f", line {d.line}"
    return f"{where}: {d.message}"


def refuse(errors: list[Diagnostic], what: str) -> None:
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise CompileError(
            f"cannot compile: {what}; first, {_describe(errors[0])}{more}",
            details={"diagnostics": [d.to_json() for d in errors]},
        )


def tag_cells(nb: dict[str, Any] | None, pipeline: Pipeline) -> dict[str, dict[str, int]]:
    """step -> {config tag: the cell carrying it}, for diagnostics on the right cell."""
    out: dict[str, dict[str, int]] = {}
    if nb is None:
        return out
    cells = nb.get("cells", [])
    for step in pipeline.steps:
        found = out.setdefault(step.name, {})
        for c in step.cells:
            parsed = T.parse_tags(((cells[c.index].get("metadata") or {}).get("tags")) or [])
            for resource, value in parsed.limits.items():
                found.setdefault(f"limit:{resource}:{value}", c.index)
    return out


def base_images(pipeline: Pipeline, image: str | None) -> dict[str, str]:
    """image: tag > --image > the notebook's docker_image (Kale) or base_image (Kale 2.x) > python:X.Y."""
    setting = pipeline.settings.get("docker_image") or pipeline.settings.get("base_image")
    default = image or (setting if isinstance(setting, str) and setting.strip() else None) or DEFAULT_IMAGE
    return {s.name: s.config.image or default for s in pipeline.steps}


def compile_pipeline(
    pipeline: Pipeline,
    *,
    nb: dict[str, Any] | None = None,
    image: str | None = None,
    snapshots: list[dict[str, Any]] | None = None,
) -> CompileResult:
    """``snapshots``: the VolumeSnapshots taken of workspace claims (csi_client.take_snapshots); every step mounts a
    claim the run restores from each, at its mount point."""
    require_kfp()
    refuse([d for d in pipeline.diagnostics if d.severity == "error"], "the notebook has analysis errors")
    if not pipeline.steps:
        raise CompileError("cannot compile: the notebook has no step; tag a code cell step:NAME")
    iface = build_interface(pipeline)
    refuse(iface.diagnostics, "a pipeline parameter cannot be a KFP input")
    requirements = compute_requirements(pipeline)
    refuse([d for d in requirements.diagnostics if d.severity == "error"], "the requirements setting is invalid")
    diagnostics = list(requirements.diagnostics)
    if snapshots is None and pipeline.settings.get("snapshot_volumes") is True:
        diagnostics.append(
            warn(
                "kfp.snapshot",
                None,
                "snapshot_volumes: the workspace VolumeSnapshot is taken when the run is submitted (kale-ext run "
                "--backend kfp); this compiled pipeline mounts the live claims",
            )
        )
    from .components import build_components

    workdir = pipeline.settings.get("abs_working_dir")  # Kale's: the notebook's folder on a mounted volume
    workdir = workdir if isinstance(workdir, str) and workdir.startswith("/") else None
    components = build_components(pipeline.name, iface, base_images(pipeline, image), requirements.pins, workdir)
    func = pipeline_function(pipeline, iface, components, tag_cells(nb, pipeline), diagnostics, snapshots or [])
    name = kfp_name(pipeline.name)
    try:
        yaml = _compile(func, name, pipeline.name, pipeline.description)
    except (ValueError, TypeError) as exc:  # kfp's own validation (names, types, values) of what was built
        raise CompileError(f"cannot compile: kfp refused the pipeline: {exc}") from None
    return CompileResult(
        yaml=yaml,
        name=name,
        display_name=pipeline.name,
        description=pipeline.description,
        steps=[s.name for s in pipeline.steps],
        parameters={
            p: {"type": PARAMETER_TYPES[type(pipeline.parameters[p])][1], "default": default}
            for p, (_, default) in iface.parameters.items()
        },
        requirements=requirements,
        diagnostics=diagnostics,
    )


def pipeline_function(
    pipeline: Pipeline,
    iface: PipelineInterface,
    components: dict[str, Any],
    cells: dict[str, dict[str, int]],
    diagnostics: list[Diagnostic],
    snapshots: list[dict[str, Any]] | None = None,
) -> Any:
    """A Python function kfp can trace: its signature holds the pipeline parameters (typed, with defaults) and it
    returns the Metrics artifact of every step that logs metrics (the pipeline's outputs)."""
    names = list(iface.parameters)
    volumes = with_snapshots(volume_plan(pipeline.settings, diagnostics), snapshots or [])
    metric_steps = [s for s in iface.steps if s.metrics]
    output_fields = [f"{s.func}_metrics" for s in metric_steps]
    outputs_type = namedtuple("Outputs", output_fields) if metric_steps else None
    configured: set[str] = set()

    def body(*args: Any) -> Any:
        values = dict(zip(names, args, strict=True))
        created = create_volumes(volumes)
        tasks: dict[str, Any] = {}
        by_name = {s.name: s for s in iface.steps}
        for s in iface.steps:
            step = pipeline.step(s.name)
            task = components[s.name](**_arguments(s, step, values, tasks, by_name))
            task.set_display_name(s.name)
            for dep in step.depends_on:  # prev: order-only edges (data edges are implied by the inputs)
                if dep not in step.input_sources.values():
                    task.after(tasks[dep])
            mount_volumes(task, volumes, created)
            # kfp traces the function more than once; diagnostics are collected on the first trace only.
            sink = diagnostics if s.name not in configured else []
            configured.add(s.name)
            StepConfigurator(step, cells.get(s.name, {}), pipeline.settings, sink).apply(task)
            tasks[s.name] = task
        if outputs_type is None:
            return None
        return outputs_type(*(tasks[s.name].outputs[s.metrics] for s in metric_steps))

    from kfp.dsl import Metrics

    # kfp traces the pipeline function through its signature: the parameters, typed, with their defaults.
    body.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d, annotation=_ANNOTATIONS[a])
            for p, (a, d) in iface.parameters.items()
        ],
        return_annotation=(
            NamedTuple("Outputs", [(f, Metrics) for f in output_fields]) if outputs_type else inspect.Signature.empty
        ),
    )
    body.__name__ = "pipeline"
    return body


def _arguments(
    s: StepInterface, step: Step, values: dict[str, Any], tasks: dict[str, Any], by_name: dict[str, StepInterface]
) -> dict[str, Any]:
    """A step's component arguments: pipeline inputs, and each input artifact from its producer's output."""
    kwargs = {a: values[p] for a, p in s.parameters.items()}
    for a, v in s.inputs.items():
        producer = step.input_sources[v]
        kwargs[a] = tasks[producer].outputs[by_name[producer].output_of(v)]
    return kwargs


def _compile(func: Any, name: str, display_name: str, description: str) -> str:
    import warnings

    from kfp import compiler, dsl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline = dsl.pipeline(func, name=name, description=description or None, display_name=display_name)
        fd, path = tempfile.mkstemp(suffix=".yaml", prefix="kale-kfp-")
        os.close(fd)
        try:
            compiler.Compiler().compile(pipeline, package_path=path)
            with open(path) as f:
                return f.read()
        finally:
            os.remove(path)
