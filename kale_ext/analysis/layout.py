"""Group a notebook's code cells by their tags, as Kale does: step:/block: cells open a step, untagged cells join the
tagged cell above them (a skip cell is transparent), imports/functions cells form the prelude of every step.

Produces the step skeletons (names, cells, prev: tags, step configuration), the tag diagnostics, and every notebook
cell's public role (pipeline.model.CellRole: what the sidebar shows, so that it never re-derives this grouping).
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..notebook import tags as T
from ..notebook.reader import cell_source
from ..pipeline import model as M
from ..pipeline.model import Diagnostic, StepConfig
from .diagnostics import make

_ROLE_OF = {T.IMPORTS: "prelude", T.FUNCTIONS: "prelude", T.PARAMETERS: "parameters", T.METRICS: "metrics"}
# The public role (pipeline.model.CellRoleName) of the cells a kind tag opens, untagged continuations included.
_PUBLIC: dict[str, M.CellRoleName] = {
    T.IMPORTS: "imports",
    T.FUNCTIONS: "functions",
    T.PARAMETERS: "pipeline-parameters",
    T.METRICS: "pipeline-metrics",
}


@dataclass
class StepLayout:
    name: str
    index: int
    cells: list[int] = field(default_factory=list)
    prev: list[str] = field(default_factory=list)
    prev_cell: dict[str, int] = field(default_factory=dict)
    config: StepConfig = field(default_factory=StepConfig)


@dataclass
class CellRole:
    index: int
    role: str  # "step", "prelude", "parameters", "metrics", "skip"
    source: str
    step: int | None = None


@dataclass
class Layout:
    cells: list[CellRole] = field(default_factory=list)
    steps: list[StepLayout] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    roles: list[M.CellRole] = field(default_factory=list)  # every notebook cell, markdown and raw included


def layout(nb: dict[str, Any]) -> Layout:
    out = Layout()
    by_name: dict[str, StepLayout] = {}
    current: tuple[str, int | None] | None = None  # the role (and step) untagged cells join
    current_kind: M.CellRoleName = "skip"  # the public role untagged cells join, set with `current`
    metrics_seen = False
    for i, cell in enumerate(nb.get("cells", [])):
        cell_type = cell.get("cell_type")
        if cell_type != "code":
            out.roles.append(M.CellRole(i, "markdown" if cell_type == "markdown" else "raw"))
            continue
        source = cell_source(cell)
        parsed = T.parse_tags((cell.get("metadata") or {}).get("tags") or [])
        for code, message in parsed.problems:
            out.diagnostics.append(make(code, i, None, message))
        if parsed.kind == T.SKIP:  # transparent, as in Kale: the untagged cells below it join the block above it
            out.cells.append(CellRole(i, "skip", source))
            out.roles.append(M.CellRole(i, "skip"))
            continue
        if parsed.kind == T.STEP and parsed.step is not None:  # a step: tag always names its step
            step = by_name.get(parsed.step)
            if metrics_seen:
                out.diagnostics.append(
                    make(
                        "tag.metrics_position",
                        i,
                        None,
                        f"step:{parsed.step} comes after the "
                        "pipeline-metrics cell; the pipeline-metrics cell must be the last tagged "
                        "cell: move it to the end of the notebook",
                    )
                )
            if step is None:
                step = StepLayout(parsed.step, len(out.steps))
                by_name[step.name] = step
                out.steps.append(step)
            elif current != ("step", step.index):
                out.diagnostics.append(
                    make(
                        "tag.step_reused",
                        i,
                        None,
                        f"step {step.name!r} already ended at an "
                        f"earlier cell; its cells must be contiguous. Rename this step or move the "
                        f"cell next to the other cells of {step.name!r}",
                    )
                )
            _add_config(step, parsed, i)
            current, current_kind = ("step", step.index), "step"
        elif parsed.kind in _ROLE_OF:
            current, current_kind = (_ROLE_OF[parsed.kind], None), _PUBLIC[parsed.kind]
            metrics_seen = metrics_seen or parsed.kind == T.METRICS
        elif current is None:
            if source.strip():
                out.diagnostics.append(
                    make(
                        "tag.untagged",
                        i,
                        None,
                        "this code cell comes before the first tagged "
                        "cell, so it belongs to no step and would not run; tag it step:NAME, "
                        "imports, functions, or skip",
                    )
                )
            out.cells.append(CellRole(i, "skip", source))
            out.roles.append(M.CellRole(i, "skip"))
            continue
        role, step_index = current
        if step_index is not None:
            out.steps[step_index].cells.append(i)
        out.cells.append(CellRole(i, role, source, step_index))
        out.roles.append(M.CellRole(i, current_kind, out.steps[step_index].name if step_index is not None else None))
    _check_prev(out, by_name)
    return out


def _add_config(step: StepLayout, parsed: T.CellTags, cell: int) -> None:
    for p in parsed.prev:
        if p not in step.prev:
            step.prev.append(p)
            step.prev_cell[p] = cell
    c = step.config
    c.image = parsed.image or c.image
    c.limits.update(parsed.limits)
    c.labels.update(parsed.labels)
    c.annotations.update(parsed.annotations)
    c.secrets.extend(s for s in parsed.secrets if s not in c.secrets)
    if parsed.cache is not None:
        c.cache = parsed.cache


def _check_prev(out: Layout, by_name: dict[str, StepLayout]) -> None:
    for step in out.steps:
        valid = []
        for p in step.prev:
            target = by_name.get(p)
            cell = step.prev_cell[p]
            if target is None:
                known = ", ".join(sorted(by_name)) or "none"
                out.diagnostics.append(
                    make(
                        "tag.prev_missing",
                        cell,
                        None,
                        f"prev:{p} names no step (steps: {known}); fix the name or remove the tag",
                    )
                )
            elif target.index >= step.index:
                where = "itself" if target is step else "a step that comes later in the notebook"
                out.diagnostics.append(
                    make(
                        "tag.prev_later",
                        cell,
                        None,
                        f"prev:{p} on step {step.name!r} names "
                        f"{where}; steps run in notebook order, so move the cells or remove the tag",
                    )
                )
            else:
                valid.append(p)
        step.prev = valid
