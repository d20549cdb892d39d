"""JSON Schema export of the wire models: ``python -m kale_ext.api.schema [--check] [OUT]``.

Writes one schema (every model under ``$defs``, the API version as ``x-api-version``) to kale_ext/api/api.schema.json
by default: shipped with the package, and not under schema/, whose every file JupyterLab installs as a settings schema.
scripts/generate-api.sh then generates src/api/generated.ts from it with json-schema-to-typescript, and CI fails when
either differs from what is committed. ``--check`` only compares. Plain Python; must not import tornado,
jupyter_server, the runners or the store.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from . import API_VERSION
from .analysis import Analysis, AnalyzeRequest, CellRole, Diagnostic, Step, StepConfig
from .info import ErrorBody, ServerInfo
from .lineage import ExploreRequest, ExploreResult, RunLineage
from .models import DeployModelRequest, DeployResult, ModelsView, ModelVersion, ServableList, ServedModel
from .runs import LogChunk, Run, RunList, RunStep, RunSummary, StartRunRequest, StepError
from .tuning import Experiment, ExperimentList, ResumeExperimentRequest, StartExperimentRequest, Trial

# Every model a client sends or receives (the models they reference are exported with them).
MODELS: tuple[type, ...] = (
    ServerInfo,
    ErrorBody,
    AnalyzeRequest,
    Analysis,
    Diagnostic,
    Step,
    StepConfig,
    CellRole,
    StartRunRequest,
    Run,
    RunSummary,
    RunStep,
    StepError,
    RunList,
    LogChunk,
    DeployModelRequest,
    DeployResult,
    ServableList,
    ModelsView,
    ServedModel,
    ModelVersion,
    RunLineage,
    ExploreRequest,
    ExploreResult,
    StartExperimentRequest,
    ResumeExperimentRequest,
    Experiment,
    ExperimentList,
    Trial,
)

DEFAULT_OUT = Path(__file__).resolve().with_name("api.schema.json")


def api_schema() -> dict[str, Any]:
    """One JSON Schema document: ``$defs`` holds every model, sorted by name so the file is stable; the document
    itself is any body of the API (``anyOf`` the models), which names the root type of the generated TypeScript."""
    refs, components = msgspec.json.schema_components(MODELS, ref_template="#/$defs/{name}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "kale_ext/api.schema.json",
        "title": "ApiBody",
        "description": "Any request or response body under /kale/v1/. Generated from kale_ext/api/; do not edit.",
        "x-api-version": API_VERSION,
        "anyOf": list(refs),
        "$defs": {name: _for_generators(components[name]) for name in sorted(components)},
    }


def _for_generators(node: Any) -> Any:
    """Two touches for the code generators. msgspec writes ``dict[str, Any]`` as a bare ``{"type": "object"}``: say
    that any key is allowed, so that a generator defaulting to closed objects does not turn it into ``{}``. The
    descriptions come from docstrings: their reST literals become Markdown ones, as TypeScript doc comments read."""
    if isinstance(node, dict):
        node = {k: _for_generators(v) for k, v in node.items()}
        if node.get("type") == "object" and "properties" not in node and "additionalProperties" not in node:
            node["additionalProperties"] = True
        if isinstance(node.get("description"), str):
            node["description"] = node["description"].replace("``", "`")
        return node
    if isinstance(node, list):
        return [_for_generators(v) for v in node]
    return node


def render() -> str:
    return json.dumps(api_schema(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kale_ext.api.schema", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT, help=f"output file (default: {DEFAULT_OUT})")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs from the models' export")
    args = parser.parse_args(argv)
    text = render()
    if args.check:  # compares the JSON, not its layout (the committed file is prettier-formatted)
        current = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else None
        if current != api_schema():
            sys.stderr.write(f"{args.out} is out of date: run `python -m kale_ext.api.schema`.\n")
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
