"""A readable summary of an analyzed pipeline for `kale-ext analyze` without --json: the DAG (steps, their
dependencies, edges labelled with the variables that travel on them), parameters, metrics, then the diagnostics.

Must not import tornado or jupyter_server.
"""

from __future__ import annotations

from ..pipeline.model import Pipeline


def format_text(p: Pipeline) -> str:
    lines = [f"Pipeline {p.name!r}: {len(p.steps)} step(s)" + (f" - {p.description}" if p.description else "")]
    if p.parameters:
        lines.append("Parameters: " + ", ".join(f"{k}={v!r}" for k, v in p.parameters.items()))
    if p.prelude:
        lines.append("Prelude cells (run in every step): " + ", ".join(str(c.index) for c in p.prelude))
    lines.append("")
    for s in p.steps:
        cells = ", ".join(str(c.index) for c in s.cells)
        lines.append(f"step {s.name}  (cells {cells})")
        lines.append("  depends on: " + (", ".join(s.depends_on) if s.depends_on else "-"))
        by_source: dict[str, list[str]] = {}
        for var, src in s.input_sources.items():
            by_source.setdefault(src, []).append(var)
        for dep in s.depends_on:
            variables = by_source.get(dep)
            label = ", ".join(variables) if variables else "(order only, from prev: tag)"
            lines.append(f"    {dep} -> {s.name}: {label}")
        if s.parameters:
            lines.append("  parameters: " + ", ".join(s.parameters))
        if s.outputs:
            lines.append("  outputs: " + ", ".join(s.outputs))
        if s.imports:
            lines.append("  re-imports: " + "; ".join(s.imports))
    if p.metrics:
        lines.append("")
        lines.append(
            "Metrics: "
            + ", ".join(
                f"{m} (from {p.metric_sources[m] or 'parameters'})" if m in p.metric_sources else m for m in p.metrics
            )
        )
    counts = {sev: sum(d.severity == sev for d in p.diagnostics) for sev in ("error", "warning", "info")}
    lines.append("")
    lines.append(f"Diagnostics: {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info")
    for d in p.diagnostics:
        where = "notebook" if d.cell is None else f"cell {d.cell}" + (f", line {d.line}" if d.line else "")
        lines.append(f"  {d.severity:<7} {d.code:<20} {where}: {d.message}")
    return "\n".join(lines) + "\n"
