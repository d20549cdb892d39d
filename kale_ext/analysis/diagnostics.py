"""The catalogue of diagnostic codes the analysis emits: stable dotted codes, their severity and meaning.

Codes are part of the public interface (CLI --json, REST, the frontend): never rename one, add new ones instead.
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

from ..pipeline.model import Diagnostic

CODES: dict[str, tuple[str, str]] = {
    "syntax.error": ("error", "a cell is not valid Python (after IPython syntax is transformed)"),
    "syntax.too_complex": ("error", "a cell nests or chains expressions deeper than the parser or the analysis allows"),
    "name.undefined": ("error", "a name is read but never bound before it (or was deleted)"),
    "name.undefined_skip": ("error", "a name is read but bound only in a skip cell"),
    "name.defined_later": ("error", "a name is read before the cell that first binds it"),
    "name.maybe_dynamic": ("warning", "a name may come only from exec/globals()/%run"),
    "name.star_import": ("warning", "a name may come only from a star import whose module cannot be inspected"),
    "dynamic.exec": ("warning", "exec/eval/execfile: the names it reads and binds cannot be tracked"),
    "dynamic.globals": ("warning", "globals()/locals()/vars() written to: the names it binds cannot be tracked"),
    "dynamic.run": ("warning", "%run/%load/%store: the names it binds cannot be tracked"),
    "tag.unknown": ("error", "a tag is not part of the tagging language"),
    "tag.invalid": ("error", "a step:/prev: tag has an invalid name"),
    "tag.conflict": ("error", "a cell carries two incompatible kind tags"),
    "tag.misplaced": ("error", "a step-configuration or prev: tag on a cell that is not a step: cell"),
    "tag.prev_missing": ("error", "prev: names a step that does not exist"),
    "tag.prev_later": ("error", "prev: names the step itself or a step that comes later in the notebook"),
    "tag.untagged": ("error", "code cells before the first tagged cell belong to no step"),
    "tag.step_reused": ("error", "a step name is used again after another step"),
    "tag.metrics_position": ("error", "a step: cell follows the pipeline-metrics cell"),
    "edge.implicit": ("info", "a data edge that the prev: tags do not declare was added"),
    "parameter.invalid": ("error", "a pipeline-parameters cell statement is not NAME = literal"),
    "metric.invalid": ("warning", "a pipeline-metrics cell statement is not print(name)"),
    "prelude.step_data": ("error", "an imports/functions cell reads data produced by a step"),
    "value.unpicklable": ("warning", "an output whose value cannot cross processes (open file, lock, generator...)"),
}


def make(code: str, cell: int | None, line: int | None, message: str) -> Diagnostic:
    return Diagnostic(CODES[code][0], code, cell, line, message)  # type: ignore[arg-type]
