"""The one IPython transform: the analysis' cell parser and the step runtime both make Python of a cell through it."""

from __future__ import annotations

import subprocess
import sys

from kale_ext.notebook import cells, ipython
from kale_ext.steps import runtime


def test_plain_python_is_unchanged_and_never_imports_ipython():
    code = (
        "import sys\n"
        "from kale_ext.notebook.ipython import transform\n"
        "src = 'x = [i for i in range(3)]\\nprint(x)\\n'\n"
        "assert transform(src) == src\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'IPython'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_ipython_syntax_becomes_the_python_a_kernel_runs():
    assert ipython.needs_ipython("!echo hi\n") and not ipython.needs_ipython("x = 1\n")
    python = ipython.transform("files = !ls\n%time y = 2\n")
    assert "get_ipython().getoutput('ls')" in python and "run_line_magic('time', 'y = 2')" in python
    compile(python, "<cell>", "exec")


def test_the_analysis_and_the_runtime_share_the_transform(monkeypatch):
    class Marker:
        def transform_cell(self, source: str) -> str:
            return "transformed_by_the_shared_module = 1\n"

    monkeypatch.setattr(ipython, "_manager", Marker())
    parsed = cells.parse_cell("%load_ext something\n")
    assert parsed.ipython and parsed.tree is not None
    assert [t.id for node in parsed.tree.body for t in node.targets] == ["transformed_by_the_shared_module"]
    ns: dict = {}
    runtime.run_source("%load_ext something\n", "<cell 0>", ns)
    assert ns["transformed_by_the_shared_module"] == 1
    assert isinstance(ipython._manager, Marker), "neither side built a transformer of its own"
