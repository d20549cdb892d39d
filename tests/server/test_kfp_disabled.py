"""Without a KFP host the kfp backend is listed disabled, with the reason, and refuses runs with it (400)."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from tests.notebooks import make_notebook


@pytest.fixture(autouse=True)
def _no_host(monkeypatch):
    monkeypatch.delenv("KF_PIPELINES_ENDPOINT", raising=False)


async def test_kfp_is_listed_disabled_with_its_reason(jp_fetch, jp_root_dir):
    info = json.loads((await jp_fetch("kale", "v1", "info")).body)
    kfp = next(b for b in info["backends"] if b["name"] == "kfp")
    assert kfp["enabled"] is False and "KF_PIPELINES_ENDPOINT" in kfp["reason"]
    assert "runner:kfp" not in info["capabilities"]
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(make_notebook((["step:a"], "x = 1"))))
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", "runs", method="POST", body=json.dumps({"path": "nb.ipynb", "backend": "kfp"}))
    assert err.value.code == 400
    assert json.loads(err.value.response.body)["message"].startswith("Cannot run on backend 'kfp': ")
