"""Build notebook JSON for tests: cells are (tags, source) pairs; tags None makes a markdown cell. Run a notebook
(or a copy of one of the shipped examples) with the local runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def make_notebook(*cells: tuple, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    out = []
    for tags, source in cells:
        if tags is None:
            out.append({"cell_type": "markdown", "metadata": {}, "source": source})
        else:
            out.append(
                {
                    "cell_type": "code",
                    "metadata": {"tags": list(tags)} if tags else {},
                    "source": source.splitlines(keepends=True),  # the list form, as Jupyter saves it
                    "outputs": [],
                    "execution_count": None,
                }
            )
    return {"cells": out, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}


def write_notebook(path: Path, *cells: tuple, metadata: dict[str, Any] | None = None) -> str:
    path.write_text(json.dumps(make_notebook(*cells, metadata=metadata)))
    return str(path)


def run_notebook(path: Any, store: Any, **options: Any) -> dict[str, Any]:
    """A finished run of the notebook at ``path`` (RunOptions ``options``) recorded in ``store``, by a local runner
    closed after."""
    from kale_ext.commands.run import load_pipeline
    from kale_ext.runners.base import RunOptions
    from kale_ext.runners.local import LocalRunner

    runner = LocalRunner(store)
    try:
        return runner.wait(runner.start(load_pipeline(str(path)), str(path), RunOptions(**options)), timeout=300)
    finally:
        runner.close()


def run_example(folder: Path, name: str) -> tuple[Any, dict[str, Any]]:
    """(store, run): the shipped example ``examples/NAME`` copied into ``folder`` and run there, its store beside it."""
    from kale_ext.store import Store

    nb = folder / name
    shutil.copy(REPO / "examples" / name, nb)
    store = Store(str(folder / ".kale"))
    return store, run_notebook(nb, store)
