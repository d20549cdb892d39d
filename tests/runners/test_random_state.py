"""Forked steps get the random state a fresh process running the prelude would have, whatever the prelude says.

Under the subprocess launcher every step is a fresh interpreter; the fork launcher must give the same numbers, decided by
measuring the random states (randomstate.py), not by reading the prelude: a seed set at interpreter start-up survives,
a prelude that seeds without the word "seed" is seeded, one that only mentions it is not.
"""

from __future__ import annotations

import json
import os
import random

import pytest

from kale_ext.commands.run import load_pipeline
from kale_ext.runners.base import RunOptions
from kale_ext.runners.local import LocalRunner
from kale_ext.runners.local.randomstate import decide
from kale_ext.store import Store

from .helpers import code_cell, pipeline, run_top_to_bottom, step, write_notebook

np = pytest.importorskip("numpy")

DRAW_A = "ra = random.random()\nna = float(np.random.random())"
DRAW_B = "rb = random.random()\nnb_ = float(np.random.random())"


@pytest.fixture
def seeded_at_startup(tmp_path, monkeypatch):
    """A sitecustomize that seeds both generators at interpreter start-up, outside the notebook's prelude."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import random\nimport numpy\nrandom.seed(7)\nnumpy.random.seed(7)\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p))


def test_a_seed_set_at_startup_survives_the_fork(tmp_path, seeded_at_startup):
    (tmp_path / "nb").mkdir()
    cells = [
        code_cell("import random\nimport numpy as np", "imports"),
        code_cell(DRAW_A, "step:a"),
        code_cell(DRAW_B, "step:b"),
        code_cell("print(ra)\nprint(na)\nprint(rb)\nprint(nb_)", "pipeline-metrics"),
    ]
    path, _ = write_notebook(tmp_path / "nb" / "draws.ipynb", cells)
    p = load_pipeline(path)
    metrics = {}
    for launcher in ("fork", "subprocess"):
        runner = LocalRunner(Store(str(tmp_path / f".kale-{launcher}")), launcher=launcher)
        run = runner.wait(runner.start(p, path), timeout=120)
        assert run["status"] == "succeeded", json.dumps(run)[:2000]
        metrics[launcher] = run["metrics"]
    assert metrics["fork"] == metrics["subprocess"]
    m = metrics["fork"]
    assert m["ra"] == m["rb"] == random.Random(7).random()
    assert m["na"] == m["nb_"] == float(np.random.RandomState(7).random_sample())
    top = run_top_to_bottom(path, ["ra", "na"])  # the notebook run top to bottom in one fresh interpreter
    assert (top["ra"], top["na"]) == (m["ra"], m["na"])


@pytest.mark.parametrize(
    "prelude, seeded",
    [
        ("import random\nimport numpy as np\n# no seed: every run draws new numbers\n", False),
        (
            "import random\nimport numpy as np\nrandom.setstate(random.Random(5).getstate())\n"
            "np.random.set_state(np.random.RandomState(5).get_state())\n",
            True,
        ),
    ],
    ids=["mentions-seed-unseeded", "seeds-without-the-word"],
)
def test_the_preludes_wording_decides_nothing(tmp_path, prelude, seeded):
    nb, _ = write_notebook(tmp_path / "nb.ipynb")
    p = pipeline(
        step("a", DRAW_A, index=2),
        step("b", DRAW_B, index=3),
        prelude=[(1, prelude)],
        metrics={"ra": "a", "na": "a", "rb": "b", "nb_": "b"},
    )
    runner = LocalRunner(Store(str(tmp_path / ".kale")), launcher="fork")
    m = runner.wait(runner.start(p, nb), timeout=60)["metrics"]
    if seeded:
        assert m["ra"] == m["rb"] == random.Random(5).random()
        assert m["na"] == m["nb_"] == float(np.random.RandomState(5).random_sample())
    else:
        assert m["ra"] != m["rb"] and m["na"] != m["nb_"]


def _states(gen: random.Random, rs) -> dict:
    return {"random": gen.getstate(), "numpy": rs.get_state()}


@pytest.mark.parametrize("draws", [0, 1, 3, 311, 312, 313, 5000])
def test_draws_are_told_from_seeding(draws):
    gen, rs = random.Random(), np.random.RandomState()
    before = _states(gen, rs)
    for _ in range(draws):
        gen.random()  # two 32-bit words each
        rs.random_sample()
    gen.gauss(0, 1)
    rs.standard_normal(3)
    drawn = _states(gen, rs)
    startup = {"random": "s", "numpy": "s"}
    assert decide(startup, {"random": "p", "numpy": "p"}, before, drawn) == {"random": False, "numpy": False}
    gen.seed(5)
    rs.seed(5)
    gen.random()
    rs.random_sample(draws)
    seeded = _states(gen, rs)
    assert decide(startup, {"random": "p", "numpy": "p"}, before, seeded) == {"random": True, "numpy": True}
    assert decide(startup, {"random": "s", "numpy": "s"}, before, drawn) == {"random": True, "numpy": True}
    assert decide(startup, None, {"random": before["random"], "numpy": None}, drawn) == {
        "random": False,
        "numpy": False,  # numpy's state before the prelude unknown: taken as entropy
    }
    assert decide(startup, None, before, {"random": seeded["random"], "numpy": None}) == {"random": True}


def test_the_probe_answer_is_kept_per_environment(tmp_path, monkeypatch):
    """The fresh-interpreter probe runs once per environment: the next run takes its recorded answer (an earlier fresh
    process answers as well as a new one); a start-up file that changes (a sitecustomize that now seeds) is a new
    environment, probed again, and its seed survives the fork."""
    from kale_ext.runners.local import launchers

    (tmp_path / "nb").mkdir()
    cells = [code_cell("import random", "imports"), code_cell("ra = random.random()", "step:a")]
    cells += [code_cell("rb = random.random()", "step:b"), code_cell("print(ra)\nprint(rb)", "pipeline-metrics")]
    path, _ = write_notebook(tmp_path / "nb" / "draws.ipynb", cells)
    p = load_pipeline(path)
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(x for x in (str(site), os.environ.get("PYTHONPATH")) if x))
    started = []
    real = launchers.start_probe
    monkeypatch.setattr(launchers, "start_probe", lambda *a: started.append(1) or real(*a))
    store = Store(str(tmp_path / ".kale"))

    def draws() -> dict:
        runner = LocalRunner(store, launcher="fork")
        run = runner.wait(runner.start(p, path, RunOptions(use_cache=False)), timeout=120)
        assert run["status"] == "succeeded", json.dumps(run)[:2000]
        return run["metrics"]

    first, second = draws(), draws()
    assert len(started) == 1, "the second run in the same environment reuses the probe's answer"
    assert len(os.listdir(tmp_path / ".kale" / "probes")) == 1
    assert first["ra"] != first["rb"] and second["ra"] != second["rb"], "unseeded: each step draws fresh entropy"
    (site / "sitecustomize.py").write_text("import random\nrandom.seed(7)\n")
    seeded = draws()
    assert len(started) == 2, "a changed start-up file is a new environment: probed again"
    assert seeded["ra"] == seeded["rb"] == random.Random(7).random()
