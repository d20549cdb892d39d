"""LocalRunner on real (hand-built) pipelines: parallelism, failures, caching, cancel, data passing, parameters."""

from __future__ import annotations

import os

import pytest

from kale_ext.runners.base import RunOptions
from kale_ext.runners.local import LocalRunner
from kale_ext.runners.params import ParameterError, parse_value
from kale_ext.store import Store

from .helpers import pipeline, step, write_notebook


@pytest.fixture
def nb(tmp_path):
    path, _ = write_notebook(tmp_path / "nb.ipynb")
    return path


@pytest.fixture
def runner(tmp_path):
    return LocalRunner(Store(str(tmp_path / ".kale")))


def from_text(p, texts):
    """Run options with parameters given as command-line text, parsed as the CLI does."""
    return RunOptions(parameters={k: parse_value(v, p.parameters.get(k)) for k, v in texts.items()})


def steps_by_name(run):
    return {s["name"]: s for s in run["steps"]}


def test_independent_branches_overlap_and_data_flows(runner, nb):
    p = pipeline(
        step(
            "load", "import numpy as np\nx = np.arange(5.0)\nscale = np.float64(2.0)", index=1, outputs=["scale", "x"]
        ),
        step(
            "a",
            "import time\ntime.sleep(1.0)\ny = x * scale",
            index=2,
            deps=["load"],
            inputs=["scale", "x"],
            outputs=["y"],
        ),
        step("b", "import time\ntime.sleep(1.0)\nz = x + 1", index=3, deps=["load"], inputs=["x"], outputs=["z"]),
        step(
            "join",
            "total = float(y.sum() + z.sum())\nkind = type(scale).__name__",
            index=4,
            deps=["a", "b"],
            inputs=["y", "z", "scale"],
            outputs=[],
            sources={"y": "a", "z": "b", "scale": "load"},
        ),
        metrics={"total": "join", "kind": "join"},
    )
    run = runner.wait(runner.start(p, nb, RunOptions(max_parallel=2)))
    assert run["status"] == "succeeded", run
    s = steps_by_name(run)
    assert s["a"]["started"] < s["b"]["finished"] and s["b"]["started"] < s["a"]["finished"], "branches did not overlap"
    assert run["metrics"] == {"total": 20.0 + 15.0, "kind": "float64"}
    assert [a["name"] for a in s["load"]["outputs"]] == ["scale", "x"]
    assert all(a["hash"].startswith("sha256:") for a in s["load"]["outputs"])
    hashes = {a["name"]: a["hash"] for a in s["load"]["outputs"]}
    lineage = {(i["name"], i["producer"], i["hash"]) for i in s["join"]["inputs"]}
    assert ("scale", "load", hashes["scale"]) in lineage and {i[1] for i in lineage} == {"a", "b", "load"}


def test_max_parallel_one_serializes(runner, nb):
    p = pipeline(
        step("a", "import time\ntime.sleep(0.5)", index=1),
        step("b", "import time\ntime.sleep(0.5)", index=2),
    )
    s = steps_by_name(runner.wait(runner.start(p, nb, RunOptions(max_parallel=1))))
    first, second = sorted(s.values(), key=lambda r: r["started"])
    assert second["started"] >= first["finished"] - 0.01


def test_failure_names_cell_and_line_and_fixed_rerun_reexecutes_only_failed_and_dependents(runner, nb):
    def build(bad: bool):
        return pipeline(
            step("load", "data = list(range(10))", index=1, outputs=["data"]),
            step(
                "ok_branch",
                "import time\ntime.sleep(0.3)\nsafe = sum(data)",
                index=2,
                deps=["load"],
                inputs=["data"],
                outputs=["safe"],
            ),
            step(
                "bad_branch",
                "first = data[0]\nratio = 1 / first" + (" if False else 0" if not bad else ""),
                index=5,
                deps=["load"],
                inputs=["data"],
                outputs=["ratio"],
            ),
            step("after_bad", "final = ratio + 1", index=6, deps=["bad_branch"], inputs=["ratio"]),
            metrics={"final": "after_bad"},
        )

    run = runner.wait(runner.start(build(bad=True), nb))
    assert run["status"] == "failed"
    s = steps_by_name(run)
    assert s["ok_branch"]["status"] == "succeeded", "an independent branch must finish by default"
    assert s["after_bad"]["status"] == "skipped"
    err = s["bad_branch"]["error"]
    assert (err["cell"], err["line"], err["type"]) == (5, 2, "ZeroDivisionError")
    assert 'File "<cell 5>", line 2' in err["traceback"] and "ratio = 1 / first" in err["traceback"]
    text, _ = runner.read_log(run["run_id"], "bad_branch")
    assert "ZeroDivisionError" in text

    fixed = runner.wait(runner.start(build(bad=False), nb))
    assert fixed["status"] == "succeeded"
    status = {n: (r["status"], r["cached"]) for n, r in steps_by_name(fixed).items()}
    assert status == {
        "load": ("cached", True),
        "ok_branch": ("cached", True),
        "bad_branch": ("succeeded", False),
        "after_bad": ("succeeded", False),
    }
    assert fixed["metrics"] == {"final": 1}


def test_fail_fast_cancels_other_branches(runner, nb):
    p = pipeline(
        step("boom", "raise RuntimeError('no')", index=1),
        step("slow", "import time\ntime.sleep(20)", index=2),
        step("later", "x = 1", index=3, deps=["slow"]),
    )
    run = runner.wait(runner.start(p, nb, RunOptions(fail_fast=True)), timeout=15)
    assert run["status"] == "failed"
    s = steps_by_name(run)
    assert s["boom"]["status"] == "failed"
    assert s["slow"]["status"] == "cancelled" and s["slow"]["duration_s"] < 10
    assert s["later"]["status"] == "cancelled"


def live_group_members(pgid):
    """Processes of a process group that are still running (zombies waiting for a reaper do not count)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def wait_for_pid(runner, run_id, name, timeout=20):
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        row = runner.store._conn().execute("SELECT pid FROM steps WHERE run_id=? AND name=?", (run_id, name)).fetchone()
        if row and row[0]:
            return row[0]
        time.sleep(0.05)
    raise AssertionError(f"step {name} never started")


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to inspect process groups")
def test_cancel_kills_the_step_process_group(runner, nb):
    import time

    p = pipeline(step("sleepy", "import subprocess, time\nsubprocess.Popen(['sleep', '60'])\ntime.sleep(60)", index=1))
    run_id = runner.start(p, nb)
    step_pid = wait_for_pid(runner, run_id, "sleepy")
    deadline = time.time() + 10
    while len(live_group_members(step_pid)) < 2 and time.time() < deadline:  # the step and its `sleep` child
        time.sleep(0.05)
    assert len(live_group_members(step_pid)) == 2
    run = runner.cancel(run_id)
    assert run["status"] == "cancelled"
    assert steps_by_name(run)["sleepy"]["status"] == "cancelled"
    time.sleep(0.3)
    assert live_group_members(step_pid) == []


def test_cache_hit_reuses_outputs_and_no_cache_forces(runner, nb, tmp_path):
    counter = tmp_path / "count.txt"
    src = f"with open({str(counter)!r}, 'a') as f:\n    f.write('x')\nvalue = 41"
    p = pipeline(
        step("produce", src, index=1, outputs=["value"]),
        step("consume", "answer = value + 1", index=2, deps=["produce"], inputs=["value"]),
        metrics={"answer": "consume"},
    )
    first = runner.wait(runner.start(p, nb))
    second = runner.wait(runner.start(p, nb))
    assert [s["status"] for s in second["steps"]] == ["cached", "cached"]
    assert second["metrics"] == first["metrics"] == {"answer": 42}
    assert counter.read_text() == "x"
    assert (
        steps_by_name(second)["produce"]["outputs"][0]["hash"] == steps_by_name(first)["produce"]["outputs"][0]["hash"]
    )
    third = runner.wait(runner.start(p, nb, RunOptions(use_cache=False)))
    assert [s["status"] for s in third["steps"]] == ["succeeded", "succeeded"]
    assert counter.read_text() == "xx"


def test_parameters_injected_checked_and_part_of_the_cache_key(runner, nb):
    p = pipeline(
        step("a", "base = N * 2", index=1, outputs=["base"], params=["N"]),
        step("b", "label = NAME + '!'", index=2, params=["NAME"]),
        step("c", "result = base + 1", index=3, deps=["a"], inputs=["base"]),
        parameters={"N": 3, "NAME": "x", "RATE": 0.5},
        metrics={"result": "c", "label": "b", "RATE": ""},
    )
    run = runner.wait(runner.start(p, nb))
    assert run["metrics"] == {"result": 7, "label": "x!", "RATE": 0.5}
    run2 = runner.wait(runner.start(p, nb, from_text(p, {"N": "10"})))
    assert run2["parameters"]["N"] == 10
    assert {n: s["status"] for n, s in steps_by_name(run2).items()} == {
        "a": "succeeded",
        "b": "cached",
        "c": "succeeded",
    }
    assert run2["metrics"]["result"] == 21
    run3 = runner.wait(runner.start(p, nb, from_text(p, {"NAME": "42", "RATE": "1"})))
    assert run3["parameters"] == {"N": 3, "NAME": "42", "RATE": 1.0}
    with pytest.raises(ParameterError, match="Unknown parameter 'M'"):
        runner.start(p, nb, from_text(p, {"M": "1"}))
    with pytest.raises(ParameterError, match="expects a int"):
        runner.start(p, nb, from_text(p, {"N": "'many'"}))


def test_unserializable_output_fails_the_producing_step_with_the_fix(runner, nb):
    p = pipeline(
        step("gen", "numbers = (i for i in range(3))", index=1, outputs=["numbers"]),
        step("use", "print(list(numbers))", index=2, deps=["gen"], inputs=["numbers"]),
    )
    run = runner.wait(runner.start(p, nb))
    s = steps_by_name(run)
    assert s["gen"]["status"] == "failed" and s["use"]["status"] == "skipped"
    message = s["gen"]["error"]["message"]
    assert "'numbers'" in message and "builtins.generator" in message and "Fix:" in message


def test_missing_output_is_reported(runner, nb):
    p = pipeline(
        step("a", "if False:\n    out = 1", index=1, outputs=["out"]),
        step("b", "print(out)", index=2, deps=["a"], inputs=["out"]),
    )
    err = steps_by_name(runner.wait(runner.start(p, nb)))["a"]["error"]
    assert "'out'" in err["message"] and "ended without defining" in err["message"]


def test_working_directory_is_the_notebook_folder_and_notebook_untouched(tmp_path):
    nb, original = write_notebook(tmp_path / "nb.ipynb")
    (tmp_path / "helper_mod.py").write_text("VALUE = 'beside the notebook'\n")
    p = pipeline(
        step("a", "import os, helper_mod\ncwd = os.getcwd()\nv = helper_mod.VALUE", index=1),
        metrics={"cwd": "a", "v": "a"},
    )
    runner = LocalRunner(Store(str(tmp_path / "store")))
    run = runner.wait(runner.start(p, nb))
    assert run["metrics"] == {"cwd": str(tmp_path), "v": "beside the notebook"}
    assert (tmp_path / "nb.ipynb").read_bytes() == original


@pytest.mark.parametrize("use_fork", [True, False], ids=["zygote", "subprocess"])
def test_both_launchers_run_prelude_magics_and_notebook_classes(tmp_path, use_fork):
    nb, _ = write_notebook(tmp_path / "nb.ipynb")
    p = pipeline(
        step(
            "make",
            "class Point:\n    def __init__(self, x):\n        self.x = x\n\npt = Point(3)\n%time sq = square(pt.x)",
            index=3,
            outputs=["pt", "sq"],
        ),
        step(
            "use",
            "%%capture captured\nprint('hidden')\nresult = pt.x + sq",
            index=4,
            deps=["make"],
            inputs=["pt", "sq"],
        ),
        step("shell", "!echo from-the-shell", index=5),
        prelude=[(1, "import math"), (2, "def square(v):\n    return int(math.pow(v, 2))")],
        metrics={"result": "use"},
    )
    runner = LocalRunner(Store(str(tmp_path / ".kale")), use_fork=use_fork)
    run = runner.wait(runner.start(p, nb))
    assert run["status"] == "succeeded", run
    assert run["options"]["launcher"] == ("fork" if use_fork else "subprocess")
    assert run["metrics"] == {"result": 12}
    assert "from-the-shell" in runner.read_log(run["run_id"], "shell")[0]
    assert "Wall time" in runner.read_log(run["run_id"], "make")[0]
    assert "hidden" not in runner.read_log(run["run_id"], "use")[0]


def test_prelude_error_fails_steps_with_its_cell(runner, nb):
    p = pipeline(step("a", "x = 1", index=3), prelude=[(1, "import math\nimport no_such_module_kale")])
    run = runner.wait(runner.start(p, nb))
    err = steps_by_name(run)["a"]["error"]
    assert (err["cell"], err["line"], err["type"]) == (1, 2, "ModuleNotFoundError")


def test_read_log_while_running_and_offsets(runner, nb):
    import time

    p = pipeline(step("talk", "import time\nprint('first', flush=False)\ntime.sleep(1.5)\nprint('second')", index=1))
    run_id = runner.start(p, nb)
    deadline = time.time() + 20
    text, offset = "", 0
    while time.time() < deadline and "first" not in text:
        chunk, offset = runner.read_log(run_id, "talk", offset)
        text += chunk
        time.sleep(0.05)
    assert "first" in text and "second" not in text, "stdout must reach the log while the step runs"
    runner.wait(run_id)
    rest, end = runner.read_log(run_id, "talk", offset)
    assert "second" in rest and runner.read_log(run_id, "talk", end) == ("", end)


@pytest.mark.parametrize("use_fork", [True, False], ids=["zygote", "subprocess"])
def test_step_stdin_is_empty(tmp_path, use_fork):
    nb, _ = write_notebook(tmp_path / "nb.ipynb")
    p = pipeline(step("read", "import sys\ndata = sys.stdin.read()", index=1), metrics={"data": "read"})
    runner = LocalRunner(Store(str(tmp_path / ".kale")), use_fork=use_fork)
    run = runner.wait(runner.start(p, nb), timeout=60)
    assert run["status"] == "succeeded" and run["metrics"] == {"data": ""}


@pytest.mark.parametrize("seeded", [True, False], ids=["seeded-prelude", "unseeded-prelude"])
def test_forked_steps_get_the_random_state_a_fresh_process_would(tmp_path, seeded):
    nb, _ = write_notebook(tmp_path / "nb.ipynb")
    prelude = "import random\nimport numpy as np\n" + ("random.seed(1)\nnp.random.seed(1)\n" if seeded else "")
    p = pipeline(
        step("a", "ra = random.random()\nna = float(np.random.random())", index=2),
        step("b", "rb = random.random()\nnb_ = float(np.random.random())", index=3),
        prelude=[(1, prelude)],
        metrics={"ra": "a", "na": "a", "rb": "b", "nb_": "b"},
    )
    runner = LocalRunner(Store(str(tmp_path / ".kale")), use_fork=True)
    m = runner.wait(runner.start(p, nb), timeout=60)["metrics"]
    if seeded:  # every fresh interpreter would re-run the seeding prelude
        import random

        import numpy as np

        random.seed(1)
        np.random.seed(1)
        assert m["ra"] == m["rb"] == random.random() and m["na"] == m["nb_"] == float(np.random.random())
    else:  # independent entropy per step
        assert m["ra"] != m["rb"] and m["na"] != m["nb_"]


def test_step_with_cache_false_tag_always_reexecutes(runner, nb):
    from kale_ext.pipeline.model import StepConfig

    p = pipeline(
        step("pinned", "x = 1", index=1, outputs=["x"]), step("free", "y = x", index=2, deps=["pinned"], inputs=["x"])
    )
    p.steps[0].config = StepConfig(cache=False)
    runner.wait(runner.start(p, nb))
    again = runner.wait(runner.start(p, nb))
    assert [(s["name"], s["status"]) for s in again["steps"]] == [("pinned", "succeeded"), ("free", "cached")]
