"""Build notebook JSON for tests: cells are (tags, source) pairs; tags None makes a markdown cell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


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
