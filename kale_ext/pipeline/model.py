"""The typed pipeline model: steps, data edges, parameters, metrics and diagnostics.

This is the contract between the analysis (which builds it), the runners (which execute it), the CLI and the REST API
(which serialize it with ``to_json``). Plain dataclasses, no third-party imports, no backend imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
# What a notebook cell is in the pipeline. Untagged code cells take the role (and step) of the tagged cell above them;
# code cells above the first tagged cell are "skip" (they run nowhere).
CellRoleName = Literal[
    "imports", "functions", "pipeline-parameters", "pipeline-metrics", "step", "skip", "markdown", "raw"
]


@dataclass(frozen=True)
class Diagnostic:
    """One finding of the analysis, anchored to a notebook cell (0-based, markdown included) and line (1-based)."""

    severity: Severity
    code: str  # stable, dotted: "name.undefined", "syntax.error", "tag.unknown" ...
    cell: int | None
    line: int | None
    message: str  # what is wrong and how to fix it

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "cell": self.cell,
            "line": self.line,
            "message": self.message,
        }


@dataclass(frozen=True)
class CellRole:
    """The analysis' answer for one notebook cell (0-based index, markdown included): its role and the step its code
    runs in (None unless the role is "step"). The frontend shows these instead of re-deriving them from tags."""

    index: int
    role: CellRoleName
    step: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "role": self.role, "step": self.step}


@dataclass
class StepConfig:
    """Kale's step-configuration tags, kept for the container backends (image:, limit:, label:, annotation:, secret:, cache:)."""

    image: str | None = None
    limits: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    cache: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "limits": dict(self.limits),
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "secrets": list(self.secrets),
            "cache": self.cache,
        }


@dataclass
class CellSource:
    """A code cell as the step program runs it: its notebook index and its original source (IPython syntax included)."""

    index: int
    source: str


@dataclass
class Step:
    name: str
    cells: list[CellSource]
    depends_on: list[str] = field(default_factory=list)  # producers of inputs + explicit prev: tags, notebook order
    inputs: list[str] = field(default_factory=list)  # data read from earlier steps, sorted
    outputs: list[str] = field(default_factory=list)  # data later steps read from this one, sorted
    parameters: list[str] = field(default_factory=list)  # pipeline parameters this step reads, sorted
    # Import statements (source lines) the step needs because it uses a module or name imported by another step;
    # they are re-run in the step program, never passed as data.
    imports: list[str] = field(default_factory=list)
    # For each input, the producing step: {"X_train": "preprocess"}.
    input_sources: dict[str, str] = field(default_factory=dict)
    config: StepConfig = field(default_factory=StepConfig)
    # Groups of outputs that may share objects (aliases, or names modified together): serialize each group as one
    # object graph (e.g. one pickle) so that shared references survive the process boundary.
    shared_outputs: list[list[str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cells": [c.index for c in self.cells],
            "depends_on": list(self.depends_on),
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "parameters": list(self.parameters),
            "input_sources": dict(self.input_sources),
            "imports": list(self.imports),
            "config": self.config.to_json(),
        }


@dataclass
class Pipeline:
    name: str
    steps: list[Step]  # notebook order, which is a topological order
    parameters: dict[str, Any] = field(default_factory=dict)  # name -> default value (a JSON-able literal)
    metrics: list[str] = field(default_factory=list)
    # For each metric, the step whose output holds its final value ("" when it is a pipeline parameter).
    metric_sources: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    description: str = ""
    # Code shared by every step program: sources of the `imports` and `functions` cells, in notebook order.
    prelude: list[CellSource] = field(default_factory=list)
    # The pipeline-parameters cells' source: the step program injects values instead of running it; the KFP compiler
    # points its parameter diagnostics at their cell and line.
    parameters_cells: list[CellSource] = field(default_factory=list)
    # Notebook-level settings (Kale's "kubeflow_notebook" key merged with the project's own, migrated).
    settings: dict[str, Any] = field(default_factory=dict)
    # Every variable bound at the end of a top-to-bottom run -> the step holding its final value ("" for the
    # prelude and the pipeline parameters). Metrics are a subset (metric_sources).
    final_sources: dict[str, str] = field(default_factory=dict)
    # Every notebook cell's role and step, in notebook order (see CellRole).
    cells: list[CellRole] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": {"name": self.name, "description": self.description},
            "steps": [s.to_json() for s in self.steps],
            "parameters": dict(self.parameters),
            "metrics": list(self.metrics),
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "cells": [c.to_json() for c in self.cells],
        }
