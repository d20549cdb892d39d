"""The exploration notebook of a step (Rok's "open a step's snapshot in a notebook", without Rok).

``exploration_notebook(run_id, step)`` is nbformat-4 JSON: a markdown header naming the run, the step, its status
(and, for a failed step, its error and the cell it failed in), a first code cell that loads the step's parameters and
inputs with ``kale_ext.explore.load`` (its outputs too with ``outputs=True``), then the pipeline's prelude (imports and
functions cells) and the step's own cells, as the step ran them. ``write_exploration_notebook`` saves it beside the
run's notebook under a new name. Plain Python; never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .lineage.graph import code_hash, step_of
from .lineage.stores import store_of_run
from .store import Store, store_dir_for

NBFORMAT_MINOR = 5
METADATA_KEY = "kale_ext_explore"


def _markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(source: str, **metadata: Any) -> dict[str, Any]:
    # Tagged "skip": the exploration notebook is no pipeline (the sidebar shows no steps and no diagnostics for it).
    metadata = {**metadata, "tags": ["skip"]}
    return {"cell_type": "code", "metadata": metadata, "source": source, "outputs": [], "execution_count": None}


def load_source(run_id: str, step: str, *, outputs: bool = False, store_folder: str | None = None) -> str:
    args = [json.dumps(run_id), json.dumps(step)]
    if outputs:
        args.append("outputs=True")
    if store_folder is not None:
        args.append(f"store={json.dumps(store_folder)}")
    return f"from kale_ext import explore\nexplore.load({', '.join(args)})"


def _header(row: dict[str, Any], record: dict[str, Any], spec: Any, outputs: bool) -> str:
    lines = [
        f"# Exploring step `{record['name']}` of run `{row['run_id']}`",
        "",
        f"- pipeline `{row['pipeline']}` of `{os.path.basename(row['notebook'])}`; the step **{record['status']}**",
        "- the first cell loads the step's parameters and the exact inputs it received"
        + (" and its outputs" if outputs else "")
        + " (each verified against its recorded content hash)",
    ]
    if spec is not None:
        lines.append(f"- code hash `{code_hash(spec)}`")
    error = record.get("error")
    if error:
        # 1-based, as JupyterLab counts cells ("Go to cell N" in the runs view); the error records it 0-based.
        name = os.path.basename(row["notebook"])
        where = f" in cell {error['cell'] + 1} of {name}, line {error['line']}" if error.get("cell") is not None else ""
        message = str(error.get("message") or "")
        if error.get("type") and not message.startswith(f"{error['type']}:"):
            message = f"{error['type']}: {message}"
        lines += ["", f"**The step failed{where}:** `{message}`"]
    return "\n".join(lines)


def exploration_notebook(
    run_id: str, step: str, *, outputs: bool = False, store: str | os.PathLike[str] | Store | None = None
) -> dict[str, Any]:
    """The step's exploration notebook (nbformat 4); NotFoundError for an unknown run or step."""
    found = store_of_run(run_id, store)
    row, record, spec = step_of(found, run_id, step)
    if outputs:  # refused now rather than by the notebook's first cell
        from .explore import outputs_of

        outputs_of(found, run_id, record)
    # The kernel starts beside the run's notebook and finds the store there by itself unless it lives elsewhere.
    default = os.path.abspath(store_dir_for(row["notebook"]))
    store_folder = None if found.folder == default else found.folder
    cells = [_markdown(_header(row, record, spec, outputs))]
    cells.append(_code(load_source(run_id, step, outputs=outputs, store_folder=store_folder), kale_ext_explore="load"))
    if spec is not None and spec.prelude:
        cells.append(_markdown("## The pipeline's imports and functions"))
        cells += [_code(c["source"]) for c in spec.prelude]
    if spec is not None and spec.imports:
        cells.append(_code("\n".join(spec.imports) + "\n"))
    if spec is not None:
        cells.append(_markdown(f"## The cells of step `{step}`"))
        failed_cell = (record.get("error") or {}).get("cell")
        for c in spec.cells:
            if failed_cell is not None and c["index"] == failed_cell:
                cells.append(_markdown(f"The step failed in the next cell (cell {c['index'] + 1} of the notebook)."))
            cells.append(_code(c["source"]))
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            METADATA_KEY: {"run_id": run_id, "step": step, "outputs": outputs, "notebook": row["notebook"]},
        },
        "nbformat": 4,
        "nbformat_minor": NBFORMAT_MINOR,
    }


def write_exploration_notebook(
    run_id: str,
    step: str,
    *,
    outputs: bool = False,
    store: str | os.PathLike[str] | Store | None = None,
    folder: str | None = None,
) -> str:
    """Write the exploration notebook into ``folder`` (default: beside the run's notebook) under a name no file has
    (``NB-explore-STEP-RUN.ipynb``, then ``-2``, ``-3``...); returns its absolute path."""
    nb = exploration_notebook(run_id, step, outputs=outputs, store=store)
    source = nb["metadata"][METADATA_KEY]["notebook"]
    folder = folder or os.path.dirname(source)
    stem = os.path.splitext(os.path.basename(source))[0]
    safe_step = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in step)
    base = os.path.join(folder, f"{stem}-explore-{safe_step}-{run_id}")
    n = 1
    while True:
        path = f"{base}.ipynb" if n == 1 else f"{base}-{n}.ipynb"
        try:
            with open(path, "x", encoding="utf-8") as f:  # "x": two requests at once never share a name
                json.dump(nb, f, indent=1)
                f.write("\n")
            return os.path.abspath(path)
        except FileExistsError:
            n += 1
