"""Wire models of the analysis: POST /kale/v1/analyze and ``kale-ext analyze --json``.

They mirror kale_ext.pipeline.model's ``to_json()`` output; kale_ext.api.convert builds them from it. Plain msgspec
Structs; must not import tornado, jupyter_server, the runners or the store.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec

Severity = Literal["error", "warning", "info"]
CellRoleName = Literal[
    "imports", "functions", "pipeline-parameters", "pipeline-metrics", "step", "skip", "markdown", "raw"
]


class Diagnostic(msgspec.Struct, kw_only=True):
    """One finding, anchored to a notebook cell (0-based, markdown counted) and line (1-based); null when pipeline-wide."""

    severity: Severity
    code: str
    cell: int | None
    line: int | None
    message: str


class StepConfig(msgspec.Struct, kw_only=True):
    """Kale's step-configuration tags (image:, limit:, label:, annotation:, secret:, cache:)."""

    image: str | None
    limits: dict[str, str]
    labels: dict[str, str]
    annotations: dict[str, str]
    secrets: list[str]
    cache: bool | None


def no_config() -> StepConfig:
    """A step without configuration tags (fresh containers each time)."""
    return StepConfig(image=None, limits={}, labels={}, annotations={}, secrets=[], cache=None)


class Step(msgspec.Struct, kw_only=True):
    """A pipeline step: its cells, the data it reads (and from which step) and writes, its parameters."""

    name: str
    cells: list[int]
    depends_on: list[str]
    inputs: list[str]
    outputs: list[str]
    parameters: list[str]
    input_sources: dict[str, str]
    # Always sent; optional in the schema only so that clients written before they existed keep type-checking.
    imports: list[str] = []
    config: StepConfig = msgspec.field(default_factory=no_config)


class CellRole(msgspec.Struct, kw_only=True):
    """What one notebook cell is to the pipeline: ``step`` names the step it joins, null when it joins none."""

    index: int
    role: CellRoleName
    step: str | None


class PipelineInfo(msgspec.Struct, kw_only=True):
    name: str
    description: str = ""


class Analysis(msgspec.Struct, kw_only=True):
    """The pipeline a notebook makes, every diagnostic, and the role of every cell."""

    pipeline: PipelineInfo
    steps: list[Step]
    parameters: dict[str, Any]
    metrics: list[str]
    diagnostics: list[Diagnostic]
    cells: list[CellRole]  # every notebook cell, in order


class AnalyzeRequest(msgspec.Struct, kw_only=True):
    """POST /kale/v1/analyze: ``{"notebook": {...}, "path": optional}`` or ``{"path": "saved.ipynb"}``; the notebook
    JSON itself (an object with "cells") is accepted too, as before."""

    error_codes: ClassVar[dict[str, str]] = {"notebook": "request.notebook"}

    notebook: dict[str, Any] | None = None
    path: str | None = None
