"""Fixtures of the KFP submit-and-watch tests: a loopback fake KFP API, a token file, a small notebook, a KfpRunner."""

from __future__ import annotations

import pytest

from ...notebooks import write_notebook

TOKEN = "secret-token"


@pytest.fixture
def fake_kfp():
    pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install 'kale-ext[kfp]')")
    from .fake_kfp import FakeKfp

    fake = FakeKfp(token=TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return str(path)


@pytest.fixture
def small_nb(tmp_path):
    """Three steps (load -> train -> evaluate, evaluate also after load by prev:), two parameters, one metric."""
    return write_notebook(
        tmp_path / "small.ipynb",
        (["imports"], "import math\n"),
        (["pipeline-parameters"], "RATE = 0.5\nROUNDS = 3\n"),
        (["step:load"], "data = [1, 2, 3]\n"),
        (["step:train", "prev:load"], "model = sum(data) * RATE * ROUNDS\n"),
        (["step:evaluate", "prev:train"], "score = math.sqrt(model)\n"),
        (["pipeline-metrics"], "score\n"),
    )


@pytest.fixture
def make_runner(fake_kfp, token_file, tmp_path):
    from kale_ext.runners.kfp.runner import KfpRunner

    made = []

    def make(**kwargs):
        options = {
            "host": fake_kfp.url,
            "token_path": token_file,
            "poll_interval": 0.05,
            "store_dir": str(tmp_path / "store"),
            **kwargs,
        }
        runner = KfpRunner(**options)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()
