"""A table-driven harness for the analysis, in the spirit of pyflakes' test harness.

Cells are written as (tags, source) pairs with small helpers: S("train", "...", "prep") is a step cell named train with
prev:prep; C("...") an untagged cell; IMP/FN/PAR/MET/SKIP the special cells; MD a markdown cell.
``assert_flow`` analyzes the notebook, checks the given expectations exactly, checks that no error/warning other than
the expected codes appears, and (unless run=False) runs the equivalence check of tests/analysis/executor.py.
"""

from __future__ import annotations

from typing import Any

from kale_ext.analysis import analyze
from kale_ext.pipeline.model import Pipeline
from tests.notebooks import make_notebook

from .executor import check_equivalence


def S(name: str, source: str, *prev: str, extra: tuple[str, ...] = ()) -> tuple[list[str], str]:
    return [f"step:{name}", *(f"prev:{p}" for p in prev), *extra], source


def C(source: str) -> tuple[list[str], str]:
    return [], source


def IMP(source: str) -> tuple[list[str], str]:
    return ["imports"], source


def FN(source: str) -> tuple[list[str], str]:
    return ["functions"], source


def PAR(source: str) -> tuple[list[str], str]:
    return ["pipeline-parameters"], source


def MET(source: str) -> tuple[list[str], str]:
    return ["pipeline-metrics"], source


def SKIP(source: str) -> tuple[list[str], str]:
    return ["skip"], source


def MD(text: str) -> tuple[None, str]:
    return None, text


def notebook(cells: list[tuple], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return make_notebook(*cells, metadata=metadata)


def assert_flow(
    cells: list[tuple],
    *,
    inputs: dict[str, list[str]] | None = None,
    outputs: dict[str, list[str]] | None = None,
    depends_on: dict[str, list[str]] | None = None,
    parameters: dict[str, list[str]] | None = None,
    imports: dict[str, list[str]] | None = None,
    codes: list[str] | None = None,
    run: bool = True,
) -> Pipeline:
    nb = notebook(cells)
    p = analyze(nb)
    steps = {s.name: s for s in p.steps}
    for attr, expected in (
        ("inputs", inputs),
        ("outputs", outputs),
        ("depends_on", depends_on),
        ("parameters", parameters),
        ("imports", imports),
    ):
        for step, want in (expected or {}).items():
            got = getattr(steps[step], attr)
            assert got == (sorted(want) if attr != "depends_on" and attr != "imports" else want), (
                f"step {step!r} {attr}: got {got}, expected {want}"
            )
    found = sorted(d.code for d in p.diagnostics if d.severity != "info")
    assert found == sorted(codes or []), f"diagnostics: got {found}, expected {sorted(codes or [])}: " + "; ".join(
        f"{d.code}@{d.cell}:{d.line} {d.message}" for d in p.diagnostics if d.severity != "info"
    )
    if run and not p.has_errors:
        check_equivalence(nb, p)
    return p
