"""Every kale_ext route refuses a request without credentials: enumerate the router, try every verb."""

from __future__ import annotations

import re

import pytest
from tornado.httpclient import HTTPClientError
from tornado.web import RequestHandler

VERBS = ("get", "post", "put", "patch", "delete")


def _walk(router, out):
    for rule in getattr(router, "rules", []):
        target = rule.target
        if hasattr(target, "rules"):
            _walk(target, out)
        elif isinstance(target, type) and issubclass(target, RequestHandler):
            pattern = getattr(rule.matcher, "regex", None)
            if pattern is not None:
                out.append((pattern.pattern, target))


def kale_routes(serverapp):
    found: list[tuple[str, type]] = []
    _walk(serverapp.web_app.default_router, found)
    _walk(serverapp.web_app.wildcard_router, found)
    return sorted({(p, h) for p, h in found if "/kale/" in p}, key=lambda r: r[0])


def sample_path(pattern: str) -> str:
    path = re.sub(r"\(\?P<\w+>[^)]*\)|\([^)]*\)", "sample", pattern)
    return path.rstrip("$").replace("\\", "")


def implemented_verbs(handler: type) -> list[str]:
    return [v for v in VERBS if getattr(handler, v) is not getattr(RequestHandler, v)]


async def test_routes_are_registered(jp_serverapp):
    paths = [sample_path(p) for p, _ in kale_routes(jp_serverapp)]
    assert any(p.endswith("/kale/v1/info") for p in paths), paths
    assert any(p.endswith("/kale/v1/analyze") for p in paths), paths
    known_routes = (
        "models",
        "models/sample",
        "models/sample/promote",
        "models/sample/rollback",
        "runs/sample/models",
        "experiments",
        "experiments/sample",
        "experiments/sample/cancel",
        "experiments/sample/resume",
        "runs/sample/lineage",
        "runs/sample/steps/sample/explore",
    )
    for known in known_routes:
        assert any(p.endswith(f"/kale/v1/{known}") for p in paths), (known, paths)


async def test_every_route_and_verb_requires_authentication(jp_serverapp, jp_fetch, jp_base_url):
    routes = kale_routes(jp_serverapp)
    checked = 0
    for pattern, handler in routes:
        path = sample_path(pattern)
        assert path.startswith(jp_base_url), path
        parts = path[len(jp_base_url) :].strip("/").split("/")
        for verb in implemented_verbs(handler):
            body = "{}" if verb in ("post", "put", "patch") else None
            with pytest.raises(HTTPClientError) as err:
                await jp_fetch(*parts, method=verb.upper(), body=body, headers={"Authorization": ""})
            assert err.value.code in (401, 403), f"{verb.upper()} {path} answered {err.value.code}"
            checked += 1
    assert checked >= len(routes) >= 2


async def test_authenticated_request_passes(jp_fetch):
    response = await jp_fetch("kale", "v1", "info", headers={})
    assert response.code == 200
