"""/kale/v1/experiments on a server whose tuning engine cannot be imported: every verb answers 503 saying why (never a
500), paths outside the root are still refused first, and GET info does not offer the "experiments" capability."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError


@pytest.fixture
def jp_server_config(jp_server_config):
    return {**jp_server_config, "KaleExtApp": {"tuner_class": "kale_ext.tuning.no_such_module.Tuner"}}


async def _error(jp_fetch, *parts, **kw):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", *parts, **kw)
    return err.value.code, json.loads(err.value.response.body)


async def test_every_verb_answers_503_with_the_reason(jp_fetch):
    calls = [
        (("experiments",), {"params": {"path": "nb.ipynb"}}),
        (("experiments",), {"method": "POST", "body": json.dumps({"path": "nb.ipynb"})}),
        (("experiments", "abc"), {}),
        (("experiments", "abc", "cancel"), {"method": "POST", "body": "{}"}),
    ]
    for parts, kw in calls:
        code, body = await _error(jp_fetch, *parts, **kw)
        assert code == 503, (parts, code, body)
        assert body["code"] == "tuning.unavailable"
        assert "kale_ext.tuning.no_such_module.Tuner" in body["message"]


async def test_paths_outside_the_root_are_refused_before_anything(jp_fetch):
    code, body = await _error(jp_fetch, "experiments", params={"path": "../outside.ipynb"})
    assert (code, body["code"]) == (403, "path.forbidden")
    code, body = await _error(jp_fetch, "experiments", method="POST", body=json.dumps({"path": "../x.ipynb"}))
    assert (code, body["code"]) == (403, "path.forbidden")


async def test_info_does_not_offer_experiments(jp_fetch):
    info = json.loads((await jp_fetch("kale", "v1", "info")).body)
    assert "experiments" not in info["capabilities"]
