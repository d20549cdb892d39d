"""The standalone step program: what the Kubeflow backend will package. Run it as a real interpreter would."""

from __future__ import annotations

import json
import subprocess
import sys

from kale_ext.pipeline.model import CellSource, Pipeline, Step
from kale_ext.steps import build_specs
from kale_ext.steps.program import cache_key, render_program


def spec_of(cells, prelude=(), imports=(), inputs=(), outputs=(), params=(), metrics=None):
    p = Pipeline(
        name="p",
        steps=[
            Step(
                "s",
                [CellSource(i, src) for i, src in cells],
                inputs=list(inputs),
                outputs=list(outputs),
                parameters=list(params),
                imports=list(imports),
            )
        ],
        prelude=[CellSource(i, src) for i, src in prelude],
        metric_sources=metrics or {},
    )
    return build_specs(p)[0]


def run_program(tmp_path, spec, parameters=None, inputs=None):
    program = tmp_path / "step.py"
    program.write_text(render_program(spec))
    job = {
        "parameters": parameters or {},
        "inputs": inputs or {},
        "output_dir": str(tmp_path / "out"),
        "result": str(tmp_path / "result.json"),
    }
    (tmp_path / "job.json").write_text(json.dumps(job))
    proc = subprocess.run(
        [sys.executable, str(program), "--job", str(tmp_path / "job.json")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc, json.loads((tmp_path / "result.json").read_text())


def test_program_runs_prelude_params_magics_and_saves_outputs(tmp_path):
    spec = spec_of(
        [
            (5, "%time total = double(N)\n!echo shell-line\nimport numpy as np\narr = np.ones(3) * total"),
            (6, "%%capture out\nprint('swallowed')\nacc = np.float64(0.75)"),
        ],
        prelude=[(1, "import os"), (2, "def double(v):\n    return 2 * v")],
        imports=["import json"],
        outputs=["acc", "arr"],
        params=["N"],
        metrics={"acc": "s"},
    )
    proc, result = run_program(tmp_path, spec, parameters={"N": "21"})
    assert proc.returncode == 0, proc.stderr
    assert result["status"] == "succeeded"
    assert result["metrics"] == {"acc": 0.75}
    assert result["outputs"]["arr"]["serializer"] == "numpy"
    assert result["outputs"]["acc"]["type"] == "numpy.float64"
    assert "shell-line" in proc.stdout and "Wall time" in proc.stdout and "swallowed" not in proc.stdout


def test_program_error_maps_to_notebook_cell_and_line(tmp_path):
    spec = spec_of([(3, "x = 1"), (9, "y = 2\nz = undefined_name + y")], prelude=[(1, "import math")])
    proc, result = run_program(tmp_path, spec)
    assert proc.returncode == 1
    err = result["error"]
    assert (err["cell"], err["line"], err["type"]) == (9, 2, "NameError")
    assert 'File "<cell 9>", line 2' in proc.stderr and "z = undefined_name + y" in proc.stderr
    assert "runtime.py" not in err["traceback"], "the runner's own frames are hidden"


def test_error_inside_a_prelude_function_points_at_the_function_line(tmp_path):
    spec = spec_of([(7, "value = crash(0)")], prelude=[(2, "def crash(v):\n    return 10 / v")])
    _, result = run_program(tmp_path, spec)
    assert (result["error"]["cell"], result["error"]["line"]) == (2, 2)
    assert "<cell 7>" in result["error"]["traceback"]


def test_syntax_error_is_reported_with_its_cell(tmp_path):
    _, result = run_program(tmp_path, spec_of([(4, "x = (1,\n")]))
    assert result["error"]["type"] == "SyntaxError" and result["error"]["cell"] == 4


def test_cache_key_depends_on_code_parameters_inputs_and_environment():
    spec = spec_of([(1, "y = x * N")], inputs=["x"], params=["N"])
    env = {"python": "3.11"}
    base = cache_key(spec, {"N": "1", "OTHER": "1"}, {"x": "sha256:a"}, env)
    assert base == cache_key(spec, {"N": "1", "OTHER": "2"}, {"x": "sha256:a"}, env), "unread parameters do not count"
    assert base != cache_key(spec, {"N": "2"}, {"x": "sha256:a"}, env)
    assert base != cache_key(spec, {"N": "1"}, {"x": "sha256:b"}, env)
    assert base != cache_key(spec, {"N": "1"}, {"x": "sha256:a"}, {"python": "3.12"})
    changed = spec_of([(1, "y = x * N + 0")], inputs=["x"], params=["N"])
    assert base != cache_key(changed, {"N": "1"}, {"x": "sha256:a"}, env)
