import json

import pytest
from tornado.httpclient import HTTPClientError

import kale_ext


async def test_info_reports_version_and_capabilities(jp_fetch):
    response = await jp_fetch("kale", "v1", "info")
    assert response.code == 200
    body = json.loads(response.body)
    assert body["version"] == kale_ext.__version__
    assert body["api_version"] == kale_ext.API_VERSION
    assert "analyze" in body["capabilities"]


async def test_unknown_route_under_prefix_is_404_json(jp_fetch):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", "no-such-thing")
    assert err.value.code == 404


async def test_wrong_method_is_405_not_500(jp_fetch):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", "info", method="POST", body="{}")
    assert err.value.code == 405
    body = json.loads(err.value.response.body)
    assert body["code"] == "http.405"
