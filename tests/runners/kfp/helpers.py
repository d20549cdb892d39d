"""Shared helpers of the KFP compile tests: compiling a notebook file, reading the IR back (both documents)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from ..helpers import REPO, SHARED

kfp = pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install 'kale-ext[kfp]')")
yaml = pytest.importorskip("yaml", reason="PyYAML comes with kfp")

EXAMPLES = os.path.join(REPO, "examples")
CANDIES = os.path.join(SHARED, "compat", "candies_sharing.ipynb")


def compile_file(path, *args):
    """Run `kale-ext compile PATH ARGS` in-process; returns (exit code, stdout, stderr)."""
    import contextlib
    import io

    from kale_ext.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["compile", str(path), *args])
    return code, out.getvalue(), err.getvalue()


def read_ir(path):
    """(PipelineSpec, PlatformSpec or {}) of a compiled file."""
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    return docs[0], (docs[1] if len(docs) > 1 else {})


def copy_notebook(src, dst_dir, *, requirements=None, parameters=None):
    """A copy of a notebook; ``requirements`` sets kale_ext.requirements, ``parameters`` rewrites NAME = VALUE lines of
    its pipeline-parameters cell (for the top-to-bottom reference of an overridden run)."""
    dst = os.path.join(str(dst_dir), os.path.basename(src))
    if requirements is None and parameters is None:
        shutil.copy(src, dst)
        return dst
    with open(src) as f:
        nb = json.load(f)
    if requirements is not None:
        nb["metadata"].setdefault("kale_ext", {})["requirements"] = requirements
    for cell in nb["cells"]:
        if "pipeline-parameters" in (cell.get("metadata") or {}).get("tags", []) and parameters:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            lines = []
            for line in source.splitlines():
                name = line.split("=", 1)[0].strip()
                lines.append(f"{name} = {parameters[name]!r}" if name in parameters else line)
            cell["source"] = "\n".join(lines) + "\n"
    with open(dst, "w") as f:
        json.dump(nb, f)
    return dst
