"""Hand-built pipelines for the runner tests (the analysis is tested on its own; these pin the runner's contract)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from kale_ext.pipeline.model import CellSource, Pipeline, Step

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(REPO), "shared")


def step(name, source, *, index, deps=(), inputs=(), outputs=(), params=(), sources=None):
    inputs = sorted(inputs)
    return Step(
        name=name,
        cells=[CellSource(index, textwrap.dedent(source).strip("\n") + "\n")],
        depends_on=list(deps),
        inputs=inputs,
        outputs=sorted(outputs),
        parameters=sorted(params),
        input_sources=sources or ({i: deps[0] for i in inputs} if len(deps) == 1 else {}),
    )


def pipeline(*steps, parameters=None, metrics=None, prelude=(), name="test"):
    metrics = metrics or {}
    return Pipeline(
        name=name,
        steps=list(steps),
        parameters=dict(parameters or {}),
        metrics=list(metrics),
        metric_sources=dict(metrics),
        prelude=[CellSource(i, textwrap.dedent(s).strip("\n") + "\n") for i, s in prelude],
    )


def write_notebook(path, cells=()):
    """A placeholder notebook file (the runner only needs its folder); returns its path and its bytes."""
    data = json.dumps({"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
    with open(path, "wb") as f:
        f.write(data)
    return str(path), data


def run_top_to_bottom(notebook_path, names):
    """Execute every code cell of a notebook in one namespace (IPython syntax included), in a fresh interpreter in the
    notebook's folder; return the values of ``names`` (via repr/literal) as a dict."""
    script = textwrap.dedent(
        """
        import ast, json, sys
        from kale_ext.steps import runtime
        nb = json.load(open(sys.argv[1]))
        module = runtime.new_main_module()
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                runtime.run_source(src, f"<cell {i}>", module.__dict__)
        out = {n: runtime.to_json_value(module.__dict__[n]) for n in json.loads(sys.argv[2]) if n in module.__dict__}
        sys.__stdout__.write("\\n@@RESULT@@" + json.dumps(out) + "\\n")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(notebook_path), json.dumps(list(names))],
        cwd=os.path.dirname(os.path.abspath(notebook_path)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.rsplit("@@RESULT@@", 1)[1])


def code_cell(source, *tags):
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": list(tags)},
        "outputs": [],
        "source": textwrap.dedent(source).strip("\n"),
    }
