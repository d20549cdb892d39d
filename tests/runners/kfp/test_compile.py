"""`kale-ext compile`: every example compiles to IR that kfp's own loader reads, the interface (parameters, artifacts,
edges, metrics) is what issue 9 item 1 says, the CLI's forms and refusals. Read back from the YAML, never pinned."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ...notebooks import write_notebook
from .helpers import CANDIES, EXAMPLES, compile_file, read_ir

NOTEBOOKS = sorted(os.path.join(EXAMPLES, n) for n in os.listdir(EXAMPLES) if n.endswith(".ipynb"))
if os.path.exists(CANDIES):
    NOTEBOOKS.append(CANDIES)


@pytest.mark.parametrize("src", NOTEBOOKS, ids=os.path.basename)
def test_every_notebook_compiles_and_loads(tmp_path, src):
    from kfp import components

    out = tmp_path / "pipeline.yaml"
    code, stdout, stderr = compile_file(src, "-o", str(out), "--json")
    assert code == 0, stderr
    info = json.loads(stdout)
    assert set(info) >= {"file", "pipeline", "steps", "parameters"} and info["file"] == str(out)
    assert info["requirements"][0].startswith("kale-ext==")
    spec, _ = read_ir(out)
    tasks = spec["root"]["dag"]["tasks"]
    assert sorted(t["taskInfo"]["name"] for t in tasks.values()) == sorted(info["steps"])
    assert spec["pipelineInfo"]["name"] == info["pipeline"]["name"]
    assert set(spec["root"].get("inputDefinitions", {}).get("parameters", {})) == set(info["parameters"])
    for executor in spec["deploymentSpec"]["executors"].values():
        source = "\n".join(executor["container"]["command"])
        assert "kale_ext.runners.kfp.entry" in source and "run_step(" in source  # the project's step program
    loaded = components.load_component_from_file(str(out))
    assert loaded.name == info["pipeline"]["name"]


def test_interface_parameters_artifacts_edges_and_metrics(tmp_path):
    nb = write_notebook(
        tmp_path / "flow.ipynb",
        (["imports"], "import math\n"),
        (["pipeline-parameters"], "N = 3\nRATE = 0.5\nNAME = 'x'\nFLAG = True\nITEMS = [1, 2]\nCONF = {'a': 1}\n"),
        (["step:load"], "df = [N, RATE]\nlabel = NAME\n"),
        (["step:clean", "prev:load"], "df = [v * 2 for v in df]\n"),
        (["step:side", "prev:load"], "extra = math.sqrt(4) if FLAG else 0\n"),
        (
            ["step:report", "prev:clean", "prev:side"],
            "total = sum(df) + len(ITEMS) + len(CONF) + extra\nprint(label)\n",
        ),
        (["pipeline-metrics"], "print(total)\n"),
        metadata={"kubeflow_notebook": {"pipeline_name": "Flow Test", "pipeline_description": "what it does"}},
    )
    code, stdout, stderr = compile_file(nb, "--json")
    assert code == 0, stderr
    path = json.loads(stdout)["file"]
    assert path == str(tmp_path / "flow.yaml")  # default: beside the notebook
    spec, _ = read_ir(path)
    assert spec["pipelineInfo"] == {"name": "flow-test", "displayName": "Flow Test", "description": "what it does"}
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert {n: p["parameterType"] for n, p in params.items()} == {
        "N": "NUMBER_INTEGER",
        "RATE": "NUMBER_DOUBLE",
        "NAME": "STRING",
        "FLAG": "BOOLEAN",
        "ITEMS": "LIST",
        "CONF": "STRUCT",
    }
    assert params["RATE"]["defaultValue"] == 0.5 and params["NAME"]["defaultValue"] == "x"
    assert params["CONF"]["defaultValue"] == {"a": 1}
    comps, tasks = spec["components"], spec["root"]["dag"]["tasks"]
    assert set(comps["comp-load"]["outputDefinitions"]["artifacts"]) == {"df", "label"}
    # clean reads and rewrites df: its input takes the suffix, its output keeps the variable's name
    assert set(comps["comp-clean"]["inputDefinitions"]["artifacts"]) == {"df_in"}
    assert set(comps["comp-clean"]["outputDefinitions"]["artifacts"]) == {"df"}
    art = comps["comp-clean"]["outputDefinitions"]["artifacts"]["df"]["artifactType"]
    assert art["schemaTitle"] == "system.Dataset"
    assert tasks["clean"]["inputs"]["artifacts"]["df_in"]["taskOutputArtifact"] == {
        "producerTask": "load",
        "outputArtifactKey": "df",
    }
    report = tasks["report"]["inputs"]["artifacts"]
    assert report["df"]["taskOutputArtifact"]["producerTask"] == "clean"
    assert report["label"]["taskOutputArtifact"]["producerTask"] == "load"
    assert report["extra"]["taskOutputArtifact"]["producerTask"] == "side"
    # parameters go only to the steps that read them
    assert set(tasks["load"]["inputs"]["parameters"]) == {"N", "RATE", "NAME"}
    assert tasks["load"]["inputs"]["parameters"]["N"] == {"componentInputParameter": "N"}
    assert "inputs" not in tasks["clean"] or "parameters" not in tasks["clean"]["inputs"]
    # metrics: a system.Metrics output of the step holding them, and a pipeline output
    metrics = comps["comp-report"]["outputDefinitions"]["artifacts"]["metrics"]["artifactType"]
    assert metrics["schemaTitle"] == "system.Metrics"
    assert "report_metrics" in spec["root"]["outputDefinitions"]["artifacts"]


def test_prev_order_only_edge_becomes_a_task_dependency(tmp_path):
    nb = write_notebook(
        tmp_path / "order.ipynb",
        (["step:first"], "print('side effect')\n"),
        (["step:second", "prev:first"], "x = 1\n"),
    )
    out = tmp_path / "o.yaml"
    assert compile_file(nb, "-o", str(out))[0] == 0
    tasks = read_ir(out)[0]["root"]["dag"]["tasks"]
    assert tasks["second"]["dependentTasks"] == ["first"] and "inputs" not in tasks["second"]
    assert "dependentTasks" not in tasks["first"]


def test_dash_o_dash_prints_the_yaml(tmp_path):
    nb = write_notebook(tmp_path / "one.ipynb", (["step:only"], "x = 1\n"))
    code, stdout, _ = compile_file(nb, "-o", "-")
    assert code == 0 and "pipelineInfo:" in stdout and "schemaVersion:" in stdout
    assert not (tmp_path / "one.yaml").exists()
    code, stdout, stderr = compile_file(nb, "-o", "-", "--json")
    assert code == 2 and stdout == "" and "choose one" in stderr


def test_unwritable_output_is_one_line_and_exit_2(tmp_path):
    nb = write_notebook(tmp_path / "one.ipynb", (["step:only"], "x = 1\n"))
    code, _, stderr = compile_file(nb, "-o", str(tmp_path / "missing" / "dir" / "p.yaml"))
    assert code == 2 and "cannot write" in stderr and len(stderr.strip().splitlines()) == 1


def test_analysis_errors_refuse_to_compile(tmp_path):
    nb = write_notebook(tmp_path / "bad.ipynb", (["step:a"], "y = undefined_name + 1\n"))
    code, stdout, stderr = compile_file(nb)
    assert code == 2 and stdout == ""
    line = stderr.strip()
    assert "\n" not in line and "analysis errors" in line and "cell 0" in line
    assert not (tmp_path / "bad.yaml").exists()


def test_parameter_kfp_cannot_carry_is_refused_with_its_cell_and_line(tmp_path):
    nb = write_notebook(
        tmp_path / "p.ipynb",
        (["pipeline-parameters"], "A = 1\nB = None\n"),
        (["step:s"], "x = A if B is None else 0\n"),
    )
    code, _, stderr = compile_file(nb)
    assert code == 2 and "'B'" in stderr and "cell 0, line 2" in stderr and len(stderr.strip().splitlines()) == 1


def test_requirements_are_pinned_to_the_installed_versions(tmp_path):
    import importlib.metadata as md

    code, stdout, _ = compile_file(os.path.join(EXAMPLES, "wine_classification.ipynb"), "--requirements")
    assert code == 0
    pins = stdout.split()
    assert pins[0] == f"kale-ext=={md.version('kale_ext')}"
    assert f"scikit-learn=={md.version('scikit-learn')}" in pins and f"pandas=={md.version('pandas')}" in pins
    assert not any(p.startswith(("os==", "json==", "math==")) for p in pins)  # the standard library is not pinned


def test_requirements_setting_replaces_the_list_and_empty_installs_nothing(tmp_path):
    meta = {"kale_ext": {"version": 1, "requirements": ["numpy==1.0", "kale-ext==0.1.0"]}}
    nb = write_notebook(tmp_path / "r.ipynb", (["step:s"], "import numpy\nx = 1\n"), metadata=meta)
    assert compile_file(nb, "--requirements")[1].split() == ["numpy==1.0", "kale-ext==0.1.0"]
    out = tmp_path / "r.yaml"
    assert compile_file(nb, "-o", str(out))[0] == 0
    command = " ".join(read_ir(out)[0]["deploymentSpec"]["executors"]["exec-s"]["container"]["command"])
    assert "'numpy==1.0'" in command and "pip install" in command
    meta["kale_ext"]["requirements"] = []
    nb = write_notebook(tmp_path / "r.ipynb", (["step:s"], "x = 1\n"), metadata=meta)
    assert compile_file(nb, "-o", str(out))[0] == 0
    command = " ".join(read_ir(out)[0]["deploymentSpec"]["executors"]["exec-s"]["container"]["command"])
    assert "pip install" not in command  # the image holds everything, kfp included
    meta["kale_ext"]["requirements"] = "numpy"
    nb = write_notebook(tmp_path / "r.ipynb", (["step:s"], "x = 1\n"), metadata=meta)
    code, _, stderr = compile_file(nb)
    assert code == 2 and "kale_ext.requirements" in stderr


def test_unpinnable_import_is_a_warning_on_its_cell(tmp_path):
    nb = write_notebook(
        tmp_path / "u.ipynb", (["step:s"], "x = 1\n"), (["step:t"], "import surely_not_installed_mod\ny = x\n")
    )
    code, _, stderr = compile_file(nb, "--requirements")
    assert code == 0 and "warning: cell 1" in stderr and "surely_not_installed_mod" in stderr


def test_without_the_kfp_extra_the_cli_names_the_pip_command(tmp_path):
    nb = write_notebook(tmp_path / "n.ipynb", (["step:s"], "x = 1\n"))
    code = (
        "import sys; sys.modules['kfp'] = None\nfrom kale_ext.cli import main\nsys.exit(main(['compile', sys.argv[1]]))"
    )
    proc = subprocess.run([sys.executable, "-c", code, nb], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "pip install 'kale-ext[kfp]'" in proc.stderr
