"""Build the typed Pipeline from a notebook: layout by tags (analysis.layout), variable flow (analysis.flow), then
steps with inputs/outputs/parameters/imports, depends_on = producers of inputs + explicit prev: tags, and diagnostics.

Lives on the analysis side: the import direction is analysis -> pipeline.model, never back (kale_ext.pipeline imports
nothing from kale_ext.analysis). No backend imports; must not import tornado or jupyter_server.
"""

from __future__ import annotations

from typing import Any

from ..notebook.metadata import pipeline_name, read_settings
from ..notebook.reader import validate_notebook
from ..pipeline.model import CellSource, Diagnostic, Pipeline, Step
from .diagnostics import make
from .flow import PARAM, PRELUDE, FlowResult, run_flow
from .layout import Layout, layout


def build_pipeline(nb: dict[str, Any], *, name: str | None = None) -> Pipeline:
    validate_notebook(nb)
    settings = read_settings(nb)
    lay = layout(nb)
    flow = run_flow(lay)
    names = [s.name for s in lay.steps]
    sources = {c.index: c.source for c in lay.cells if c.step is not None}
    index = {n: i for i, n in enumerate(names)}
    steps = [_step(lay, flow, i, names, sources, index) for i in range(len(lay.steps))]
    diagnostics = list(lay.diagnostics) + list(flow.diagnostics) + _implicit_edges(lay, flow, names)
    diagnostics.sort(key=_diag_order)
    description = settings.get("pipeline_description")
    return Pipeline(
        name=pipeline_name(settings, name),
        steps=steps,
        parameters=dict(flow.parameters),
        metrics=list(flow.metrics),
        metric_sources={
            m: _source_name(flow.metric_sources.get(m, PRELUDE), names)
            for m in flow.metrics
            if m in flow.metric_sources
        },
        diagnostics=diagnostics,
        description=description if isinstance(description, str) else "",
        prelude=[CellSource(c.index, c.source) for c in lay.cells if c.role == "prelude"],
        parameters_cells=[CellSource(c.index, c.source) for c in lay.cells if c.role == "parameters"],
        settings=settings,
        final_sources={n: _source_name(p, names) for n, p in sorted(flow.final_sources.items())},
        cells=list(lay.roles),
    )


def _source_name(producer: int, names: list[str]) -> str:
    return names[producer] if producer >= 0 else ""


def _step(
    lay: Layout, flow: FlowResult, i: int, names: list[str], sources: dict[int, str], index: dict[str, int]
) -> Step:
    sl, sf = lay.steps[i], flow.steps[i]
    producers = set(sf.inputs.values()) | {index[p] for p in sl.prev}
    producers.discard(i)
    return Step(
        name=sl.name,
        cells=[CellSource(idx, sources[idx]) for idx in sl.cells],
        depends_on=[names[p] for p in sorted(producers)],
        inputs=sorted(sf.inputs),
        outputs=sorted(sf.outputs),
        parameters=sorted(sf.params),
        imports=list(sf.imports),
        input_sources={n: names[p] for n, p in sorted(sf.inputs.items())},
        config=sl.config,
        shared_outputs=_shared_groups(sf.shared, sf.outputs),
    )


def _shared_groups(shared: list[frozenset[str]], outputs: set[str]) -> list[list[str]]:
    """Merge overlapping groups of names modified together, restricted to the step's outputs."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for group in shared:
        members = [m for m in group if m in outputs]
        for m in members[1:]:
            parent[find(m)] = find(members[0])
    out: dict[str, list[str]] = {}
    for m in parent:
        out.setdefault(find(m), []).append(m)
    return sorted(sorted(g) for g in out.values() if len(g) > 1)


def _implicit_edges(lay: Layout, flow: FlowResult, names: list[str]) -> list[Diagnostic]:
    out = []
    for sl, sf in zip(lay.steps, flow.steps, strict=True):
        by_producer: dict[int, list[str]] = {}
        for var, p in sorted(sf.inputs.items()):
            if names[p] not in sl.prev:
                by_producer.setdefault(p, []).append(var)
        for p, variables in sorted(by_producer.items()):
            shown = ", ".join(variables[:8]) + (f" and {len(variables) - 8} more" if len(variables) > 8 else "")
            out.append(
                make(
                    "edge.implicit",
                    sl.cells[0] if sl.cells else None,
                    None,
                    f"step {sl.name!r} reads {shown} from step {names[p]!r}, which its prev: tags do not "
                    f"list; the edge is added. Add the tag prev:{names[p]} to make it explicit",
                )
            )
    return out


def _diag_order(d: Diagnostic) -> tuple:
    rank = {"error": 0, "warning": 1, "info": 2}
    return (d.cell if d.cell is not None else -1, d.line or 0, rank.get(d.severity, 3), d.code)


__all__ = ["build_pipeline", "PARAM", "PRELUDE"]
