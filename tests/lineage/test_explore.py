"""explore.load in a real kernel loads exactly what a step received (its recorded input hashes), for a succeeded and a
failed step, outputs on request; unknown runs and steps, changed artifacts and absent outputs are clear errors; the
exploration notebook's cells, executed in a kernel, recompute the step's recorded outputs."""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from kale_ext import explore
from kale_ext.errors import KaleError, NotFoundError
from kale_ext.explore import ExploreError

from .kernel import kernel_in

# Re-saves every loaded name with the project's serializers and prints {name: content hash}: equal to the recorded
# hashes only when the kernel holds the very values the step received.
REHASH = """
import json, tempfile
from kale_ext.marshal import save_value
_d = tempfile.mkdtemp()
print("@@" + json.dumps({n: save_value(n, globals()[n], _d).hash for n in NAMES}))
"""


def recorded(run, step, key="inputs"):
    [s] = [s for s in run["steps"] if s["name"] == step]
    return {a["name"]: a["hash"] for a in s[key]}


def rehashed(kernel, names):
    out = kernel.run(f"NAMES = {list(names)!r}\n" + REHASH)
    assert out["error"] is None, out
    return json.loads(out["stdout"].rsplit("@@", 1)[1])


@pytest.mark.parametrize("step", ["double", "boom"])
def test_load_in_a_kernel_gives_the_values_the_step_received(small, step):
    store, run, _, nb = small
    expected = recorded(run, step)
    assert set(expected) == ({"data"} if step == "double" else {"data", "meta"})
    with kernel_in(os.path.dirname(nb)) as k:  # the store is found beside the notebook, as the kernel's cwd
        out = k.run(f"from kale_ext import explore\nexplore.load({run['run_id']!r}, {step!r})")
        assert out["error"] is None, out
        for name, digest in expected.items():
            assert name in out["stdout"] and digest[:19] in out["stdout"], out["stdout"]  # the printed summary
        assert rehashed(k, expected) == expected
        if step == "double":
            assert k.run("print('@@', FACTOR, type(FACTOR).__name__)")["stdout"].split("@@")[1].split() == ["3", "int"]
        else:
            shown = k.run("print('@@', 'FACTOR' in globals(), LABEL, meta)")["stdout"].split("@@")[1].strip()
            assert shown == "False x {'n': 12, 'tags': ('a', 'b')}", "a step gets only the parameters it reads"


def test_outputs_true_loads_the_outputs_too(small):
    store, run, _, nb = small
    with kernel_in(os.path.dirname(nb)) as k:
        out = k.run(f"from kale_ext import explore\nv = explore.load({run['run_id']!r}, 'double', outputs=True)")
        assert out["error"] is None, out
        want = {**recorded(run, "double"), **recorded(run, "double", "outputs")}
        assert rehashed(k, want) == want
        assert k.run("print('@@', sorted(v))")["stdout"].split("@@")[1].strip() == "['FACTOR', 'data', 'doubled']"


def test_a_cached_step_loads_what_the_execution_it_reused_received(small):
    store, first, again, _ = small
    [double] = [s for s in again["steps"] if s["name"] == "double"]
    assert double["status"] == "cached" and double["cached_from"] == first["run_id"]
    ns: dict = {}
    values = explore.load(again["run_id"], "double", outputs=True, store=store, namespace=ns, show=False)
    assert ns["doubled"].tolist() == (values["data"] * 3).tolist() and set(values) == {"FACTOR", "data", "doubled"}


def test_outputs_of_a_failed_step_is_an_error(small):
    store, run, _, _ = small
    with pytest.raises(ExploreError) as err:
        explore.load(run["run_id"], "boom", outputs=True, store=store, namespace={})
    assert err.value.code == "explore.no_outputs" and "failed" in err.value.message


def test_unknown_run_and_step(small, tmp_path, monkeypatch):
    store, run, _, _ = small
    with pytest.raises(NotFoundError) as err:
        explore.load(run["run_id"], "nope", store=store, namespace={})
    assert err.value.code == "step.not_found" and "double" in err.value.message
    with pytest.raises(NotFoundError) as err:
        explore.load("20000101-000000-000000", "double", store=store, namespace={})
    assert err.value.code == "run.not_found"
    monkeypatch.chdir(tmp_path)  # no store here nor above: the error says where it looked
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)
    with pytest.raises(NotFoundError) as err:
        explore.load(run["run_id"], "double", namespace={})
    assert "store=" in err.value.message
    with pytest.raises(KaleError) as err:
        explore.load(run["run_id"], "double", store=tmp_path, namespace={})
    assert err.value.code == "store.not_found"


def test_a_changed_artifact_is_refused(small):
    store, run, _, _ = small
    import shutil

    [meta] = [a for a in store.step_artifacts(run["run_id"], "load") if a["name"] == "meta"]
    backup = meta["path"] + ".bak"
    shutil.copy(meta["path"], backup)
    try:
        with open(meta["path"], "r+b") as f:  # same size, two bytes changed
            f.seek(-3, os.SEEK_END)
            f.write(b"\x00\x00")
        with pytest.raises(ExploreError) as err:
            explore.load(run["run_id"], "boom", store=store, namespace={})
        assert err.value.code == "explore.artifact_changed" and "'meta'" in err.value.message
        os.remove(meta["path"])
        with pytest.raises(ExploreError) as err:
            explore.load(run["run_id"], "boom", store=store, namespace={})
        assert err.value.code == "explore.artifact_missing"
    finally:
        os.replace(backup, meta["path"])
    assert set(explore.load(run["run_id"], "boom", store=store, namespace={}, show=False)) == {"LABEL", "data", "meta"}


def test_exploration_notebook_cells(small):
    store, run, _, _ = small
    nb = explore.exploration_notebook(run["run_id"], "boom", store=store)
    nbformat.validate(nbformat.from_dict(nb))
    code = [c["source"] for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[0] == f'from kale_ext import explore\nexplore.load("{run["run_id"]}", "boom")'
    assert code[1:] == [
        "import numpy as np\n",
        "def scale(a, k):\n    return a * k\n",
        "total = int(data.sum())\nraise ValueError(f'boom {total} {meta[\"n\"]} {LABEL}')\n",
    ]
    header = nb["cells"][0]["source"]
    assert run["run_id"] in header and "`boom`" in header and "failed" in header
    assert "ValueError: boom 66 12 x" in header and "in cell 6 of small.ipynb, line 2" in header
    with_outputs = explore.exploration_notebook(run["run_id"], "double", outputs=True, store=store)
    assert [c["source"] for c in with_outputs["cells"] if c["cell_type"] == "code"][0].endswith(
        '"double", outputs=True)'
    )


def test_the_exploration_notebook_runs_and_recomputes_the_steps_outputs(small, tmp_path):
    """Run what we generate: every cell of the notebook for step double, then the output hash equals the run's."""
    store, run, _, nb = small
    path = explore.write_exploration_notebook(run["run_id"], "double", store=store)
    assert os.path.dirname(path) == os.path.dirname(nb) and path.endswith(f"-explore-double-{run['run_id']}.ipynb")
    second = explore.write_exploration_notebook(run["run_id"], "double", store=store)
    assert second != path and second.endswith("-2.ipynb"), "a second exploration never overwrites the first"
    cells = [c["source"] for c in json.load(open(path))["cells"] if c["cell_type"] == "code"]
    with kernel_in(os.path.dirname(nb)) as k:
        for source in cells:
            assert k.run(source)["error"] is None, source
        assert rehashed(k, ["doubled"]) == recorded(run, "double", "outputs")


def test_the_failed_step_fails_again_in_the_kernel_with_the_same_error(small):
    store, run, _, nb = small
    cells = [
        c["source"]
        for c in explore.exploration_notebook(run["run_id"], "boom", store=store)["cells"]
        if c["cell_type"] == "code"
    ]
    with kernel_in(os.path.dirname(nb)) as k:
        results = [k.run(source) for source in cells]
    assert [r["error"] for r in results[:-1]] == [None] * (len(cells) - 1)
    [step] = [s for s in run["steps"] if s["name"] == "boom"]
    assert results[-1]["error"] == ("ValueError", step["error"]["message"].removeprefix("ValueError: "))


def test_store_not_beside_the_notebook_is_named_in_the_load_cell(small, tmp_path):
    store, run, _, _ = small
    import shutil

    moved = tmp_path / "elsewhere"
    shutil.copytree(store.folder, moved)
    nb = explore.exploration_notebook(run["run_id"], "double", store=str(moved))
    first = [c["source"] for c in nb["cells"] if c["cell_type"] == "code"][0]
    assert f'store="{moved}"' in first


def test_an_exploration_notebook_with_outputs_of_a_failed_step_is_refused(small):
    store, run, _, _ = small
    with pytest.raises(ExploreError) as err:
        explore.exploration_notebook(run["run_id"], "boom", outputs=True, store=store)
    assert err.value.code == "explore.no_outputs"


def test_a_step_whose_run_died_under_it_still_has_the_inputs_it_was_given(tmp_path):
    """The driver records a step's inputs as it starts: when the process driving the run is killed while the step
    runs (no exit of the step is ever seen), the step can still be explored with the very inputs it had."""
    import contextlib
    import signal
    import subprocess
    import sys
    import time

    from kale_ext.store import Store
    from tests.notebooks import write_notebook

    nb = write_notebook(
        tmp_path / "slow.ipynb",
        (["step:make"], "rows = [[1, 2], [3, 4]]\n"),
        (["step:slow", "prev:make"], "import time\ntime.sleep(60)\nn = len(rows)\n"),
    )
    env = {k: v for k, v in os.environ.items() if k != "KALE_EXT_HOME"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kale_ext.cli", "run", nb], cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert time.monotonic() < deadline, "the step never started"
            if os.path.exists(tmp_path / ".kale" / "kale.db"):
                found = Store(str(tmp_path / ".kale"))
                runs = found.list_runs()
                steps = {s["name"]: s["status"] for s in found.get_run(runs[0]["run_id"])["steps"]} if runs else {}
                if steps.get("slow") == "running":
                    break
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI's session: its driver and the step's process
        proc.wait(timeout=30)
    store = Store(str(tmp_path / ".kale"))
    [run] = store.list_runs()
    # The step leads its own session: stop it too, by the pid the driver recorded.
    step_pid = (
        store._conn()
        .execute("SELECT pid FROM steps WHERE run_id = ? AND name = 'slow'", (run["run_id"],))
        .fetchone()["pid"]
    )
    if step_pid:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(step_pid, signal.SIGKILL)
    store.recover_interrupted("local")
    [run] = store.list_runs()
    assert run["status"] == "interrupted"
    assert explore.load(run["run_id"], "slow", store=store, namespace={}, show=False) == {"rows": [[1, 2], [3, 4]]}
