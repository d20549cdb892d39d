"""StepSpec: everything a step program needs to know about its step, as plain JSON-able data.

Built from the pipeline model once per run and stored with the run, so that an interrupted run can be resumed even after
the notebook changed, and so that a container backend can ship the same data. No third-party imports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..pipeline.model import Pipeline

SPEC_FORMAT = 1


@dataclass
class StepSpec:
    pipeline: str
    name: str
    cells: list[dict[str, Any]]  # [{"index": notebook cell index (0-based), "source": original source}]
    prelude: list[dict[str, Any]] = field(default_factory=list)  # imports + functions cells, run before the step
    imports: list[str] = field(default_factory=list)  # import lines re-run for names imported by other steps
    depends_on: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    input_sources: dict[str, str] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)  # pipeline metrics whose final value this step holds
    cache: bool | None = None  # the step's `cache:` tag; False: always re-executed
    # Groups of outputs that may share objects: each group is saved as one object graph (see Step.shared_outputs).
    shared_outputs: list[list[str]] = field(default_factory=list)
    format: int = SPEC_FORMAT

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepSpec:
        return cls(**data)

    def code_identity(self) -> dict[str, Any]:
        """The parts of the spec that decide what the step computes (for the cache key)."""
        identity = {
            "format": self.format,
            "prelude": [c["source"] for c in self.prelude],
            "imports": list(self.imports),
            "cells": [c["source"] for c in self.cells],
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "parameters": list(self.parameters),
            "metrics": list(self.metrics),
        }
        if self.shared_outputs:
            identity["shared_outputs"] = [list(g) for g in self.shared_outputs]
        return identity


def _groups(shared: list[list[str]], outputs: list[str]) -> list[list[str]]:
    """The shared-output groups restricted to the outputs, disjoint, of two names or more."""
    seen: set[str] = set()
    out = []
    for group in shared:
        names = sorted({n for n in group if n in outputs} - seen)
        if len(names) > 1:
            out.append(names)
            seen.update(names)
    return out


def build_specs(pipeline: Pipeline) -> list[StepSpec]:
    """One spec per step, in the pipeline's (topological) order."""
    prelude = [{"index": c.index, "source": c.source} for c in pipeline.prelude]
    specs = []
    for step in pipeline.steps:
        specs.append(
            StepSpec(
                pipeline=pipeline.name,
                name=step.name,
                cells=[{"index": c.index, "source": c.source} for c in step.cells],
                prelude=prelude,
                imports=list(step.imports),
                depends_on=list(step.depends_on),
                inputs=list(step.inputs),
                input_sources=dict(step.input_sources),
                outputs=list(step.outputs),
                parameters=list(step.parameters),
                metrics=sorted(m for m, src in pipeline.metric_sources.items() if src == step.name),
                cache=step.config.cache,
                shared_outputs=_groups(step.shared_outputs, step.outputs),
            )
        )
    return specs
