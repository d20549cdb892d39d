"""Read a notebook file as plain JSON and check that it is an nbformat-4 notebook.

Deliberately does not import nbformat: its import costs about 2.4 s, which would make `kale-ext analyze` slow.
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import NotebookError


def load_notebook(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the notebook at ``path`` as a dict; raise NotebookError with a one-line message if it is unusable."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such file; expected the path of a .ipynb notebook") from None
    except IsADirectoryError:
        raise NotebookError(f"{path}: is a directory; expected the path of a .ipynb notebook") from None
    except UnicodeDecodeError:
        raise NotebookError(f"{path}: not UTF-8 text; a .ipynb notebook is UTF-8 JSON") from None
    except OSError as exc:
        raise NotebookError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); is it really a notebook?"
        ) from None
    except RecursionError:
        raise NotebookError(
            f"{path}: JSON nested too deeply to read; a notebook's JSON is a few levels deep: is it really a notebook?",
            code="notebook.too_complex",
        ) from None
    validate_notebook(nb, where=str(path))
    return nb


def validate_notebook(nb: Any, *, where: str = "notebook") -> None:
    """Check the parts of the nbformat-4 structure the analysis relies on; raise NotebookError otherwise."""
    if not isinstance(nb, dict):
        raise NotebookError(f"{where}: expected a notebook JSON object, found {type(nb).__name__}")
    if "cells" not in nb:
        if "worksheets" in nb:
            raise NotebookError(f"{where}: an nbformat 3 notebook; open and save it in Jupyter to convert it to v4")
        raise NotebookError(f"{where}: not a notebook (no 'cells' list)")
    major = nb.get("nbformat")
    if major is not None and major != 4:
        raise NotebookError(f"{where}: nbformat {major} is not supported; expected nbformat 4")
    cells = nb["cells"]
    if not isinstance(cells, list):
        raise NotebookError(f"{where}: 'cells' must be a list, found {type(cells).__name__}")
    if not isinstance(nb.get("metadata", {}), dict):
        raise NotebookError(f"{where}: 'metadata' must be an object")
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise NotebookError(f"{where}: cell {i} must be an object, found {type(cell).__name__}")
        if not isinstance(cell.get("cell_type"), str):
            raise NotebookError(f"{where}: cell {i} has no 'cell_type'")
        src = cell.get("source", "")
        if not isinstance(src, str) and not (isinstance(src, list) and all(isinstance(s, str) for s in src)):
            raise NotebookError(f"{where}: cell {i} 'source' must be a string or a list of strings")
        meta = cell.get("metadata", {})
        if not isinstance(meta, dict):
            raise NotebookError(f"{where}: cell {i} 'metadata' must be an object")
        tags = meta.get("tags", [])
        if not isinstance(tags, list):
            raise NotebookError(f"{where}: cell {i} metadata 'tags' must be a list of strings")


def cell_source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (nbformat allows a string or a list of lines)."""
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)
