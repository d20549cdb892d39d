"""The Python distributions a KFP step needs, pinned to the versions installed where the pipeline is compiled.

A step's image may lack what the notebook imports; each component then pip-installs ``kale-ext`` and the third-party
distributions the notebook imports, pinned (``scikit-learn==1.5.2``), so a cluster run uses the same library versions as
the notebook. pip leaves a pinned requirement that the image already satisfies alone (nothing is downloaded or
installed for it). The notebook setting ``kale_ext.requirements`` (a list of pip requirement strings) replaces the
computed list; an empty list installs nothing at all (the image holds everything, kfp included).

Plain Python (stdlib ast + importlib.metadata); never imports kfp, tornado or jupyter_server.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import importlib.util
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

from ...pipeline.model import Diagnostic, Pipeline
from ...syntax import AST_LOCK

SETTING = "requirements"
SELF_DISTRIBUTION = "kale_ext"
SELF_REQUIREMENT = "kale-ext"


@dataclass
class Requirements:
    pins: list[str]  # pip requirement strings, kale-ext first
    from_setting: bool = False  # the notebook's kale_ext.requirements replaced the computed list
    diagnostics: list[Diagnostic] = field(default_factory=list)


def imported_modules(pipeline: Pipeline) -> dict[str, int | None]:
    """Top-level modules imported anywhere in the pipeline's code (prelude, steps, re-imports) -> the first cell."""
    from ...notebook.ipython import transform

    found: dict[str, int | None] = {}
    sources: list[tuple[int | None, str]] = [(c.index, c.source) for c in pipeline.prelude]
    for step in pipeline.steps:
        sources.extend((c.index, c.source) for c in step.cells)
        if step.imports:
            sources.append((step.cells[0].index if step.cells else None, "\n".join(step.imports)))
    for cell, source in sources:
        if "import" not in source:
            continue
        try:
            with AST_LOCK:  # the server compiles on executor threads beside other parsers (see kale_ext.syntax)
                tree = ast.parse(transform(source))
        except SyntaxError:  # reported by the analysis
            continue
        for node in ast.walk(tree):
            names: Iterable[str] = ()
            if isinstance(node, ast.Import):
                names = (a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = (node.module,)
            for name in names:
                found.setdefault(name.partition(".")[0], cell)
    return found


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def compute_requirements(pipeline: Pipeline) -> Requirements:
    """The pinned list (or the notebook setting that replaces it), with warnings for imports that cannot be pinned."""
    setting = pipeline.settings.get(SETTING)
    if setting is not None:
        if isinstance(setting, list) and all(isinstance(r, str) and r.strip() for r in setting):
            return Requirements([r.strip() for r in setting], from_setting=True)
        bad = Diagnostic(
            "error",
            "kfp.requirements",
            None,
            None,
            f"the notebook setting kale_ext.{SETTING} must be a list of pip requirement strings, found {setting!r}; "
            "fix it or remove it to use the pinned list computed from the notebook's imports",
        )
        return Requirements([], from_setting=True, diagnostics=[bad])
    owners = md.packages_distributions()
    pins = {_canonical(SELF_REQUIREMENT): f"{SELF_REQUIREMENT}=={_version(SELF_DISTRIBUTION)}"}
    diagnostics = []
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for module, cell in sorted(imported_modules(pipeline).items()):
        if module in stdlib or module == "kale_ext":
            continue
        dists = owners.get(module)
        if not dists:
            diagnostics.append(_unpinnable(module, cell))
            continue
        for dist in dists:
            version = _version(dist)
            if version is not None:
                pins.setdefault(_canonical(dist), f"{_canonical(dist)}=={version}")
    self_pin = pins.pop(_canonical(SELF_REQUIREMENT))
    return Requirements([self_pin, *sorted(pins.values())], diagnostics=diagnostics)


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def _unpinnable(module: str, cell: int | None) -> Diagnostic:
    try:
        local = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        local = False
    if local:
        why = "is importable here but belongs to no installed distribution (a module beside the notebook?)"
        fix = "build it into the step image, or list a requirement for it in the notebook setting kale_ext.requirements"
    else:
        why = "is not installed where the pipeline is compiled, so its version cannot be pinned"
        fix = "install it here, or list it in the notebook setting kale_ext.requirements"
    return Diagnostic("warning", "kfp.requirement_unpinned", cell, None, f"module {module!r} {why}; {fix}")
