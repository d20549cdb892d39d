"""Every answer of the REST API decodes into its kale_ext.api model, and every bad body is a 4xx naming what is wrong."""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest
from tornado.httpclient import HTTPClientError

from kale_ext.api.analysis import Analysis
from kale_ext.api.info import ErrorBody, ServerInfo
from kale_ext.api.runs import LogChunk, Run, RunList
from tests.notebooks import make_notebook as _nb

NESTED = "[" * 100_000 + "]" * 100_000


@pytest.fixture(autouse=True)
def _stores_beside_the_notebooks(monkeypatch):
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)


async def fail(jp_fetch, *parts, **kw) -> tuple[int, ErrorBody]:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", *parts, allow_nonstandard_methods=True, **kw)
    return err.value.code, msgspec.json.decode(err.value.response.body, type=ErrorBody)


async def test_info_is_the_server_info_model(jp_fetch):
    info = msgspec.json.decode((await jp_fetch("kale", "v1", "info")).body, type=ServerInfo)
    assert info.api_version == "1" and "analyze" in info.capabilities


@pytest.mark.parametrize(
    "body, field",
    [
        ({"path": "nb.ipynb", "max_parallel": "x"}, "max_parallel"),
        ({"path": "nb.ipynb", "use_cache": 3}, "use_cache"),
        ({"path": "nb.ipynb", "fail_fast": None}, "fail_fast"),
        ({"path": "nb.ipynb", "parameters": [1, 2]}, "parameters"),
    ],
)
async def test_a_field_of_the_wrong_type_is_400_naming_it(jp_fetch, jp_root_dir, body, field):
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(_nb((["step:a"], "x = 1"))))
    status, error = await fail(jp_fetch, "runs", method="POST", body=json.dumps(body))
    assert status == 400 and error.code == "request.field"
    assert error.details["field"] == field and f"'{field}'" in error.message and "expected" in error.message


@pytest.mark.parametrize("route", [("analyze",), ("runs",)])
@pytest.mark.parametrize(
    "body, code",
    [("{not json", "request.json"), ("[1, 2]", "request.json"), ("", "request.empty"), (NESTED, "request.too_deep")],
)
async def test_unusable_bodies_are_400_never_500(jp_fetch, route, body, code):
    status, error = await fail(jp_fetch, *route, method="POST", body=body)
    assert (status, error.code) == (400, code)


async def test_a_notebook_nested_inside_the_body_is_400_too(jp_fetch):
    status, error = await fail(jp_fetch, "analyze", method="POST", body='{"notebook": ' + NESTED + "}")
    assert (status, error.code) == (400, "request.too_deep")


async def test_an_expression_of_400000_terms_is_not_a_500(jp_fetch):
    nb = _nb((["step:a"], "x = 1\ny = " + "+".join(["x"] * 400_000)))
    try:
        response = await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps(nb))
    except HTTPClientError as err:
        assert 400 <= err.code < 500, err.response.body[:500]
        assert msgspec.json.decode(err.response.body, type=ErrorBody).code == "analysis.too_deep"
    else:  # an analysis that reports it as a diagnostic on its cell is as good
        analysis = msgspec.json.decode(response.body, type=Analysis)
        assert any(d.severity == "error" and d.cell == 0 for d in analysis.diagnostics)


async def test_analysis_answers_the_analysis_model(jp_fetch):
    nb = _nb((["step:a"], "x = 1"), (["step:b"], "y = x"))
    analysis = msgspec.json.decode(
        (await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps(nb))).body, type=Analysis
    )
    assert [s.name for s in analysis.steps] == ["a", "b"] and analysis.steps[1].input_sources == {"x": "a"}


async def test_runs_log_chunks_and_listing_are_their_models(jp_fetch, jp_root_dir):
    nb = _nb((["step:make"], "values = [1, 2]\nprint('made')"), (["step:total"], "total = sum(values)"))
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(nb))
    response = await jp_fetch("kale", "v1", "runs", method="POST", body=json.dumps({"path": "nb.ipynb"}))
    run = msgspec.json.decode(response.body, type=Run)
    assert run.path == "nb.ipynb" and run.runner == "local" and run.external_id is None
    for _ in range(600):
        run = msgspec.json.decode((await jp_fetch("kale", "v1", "runs", run.run_id)).body, type=Run)
        if run.status not in ("queued", "running"):
            break
        await asyncio.sleep(0.1)
    assert run.status == "succeeded", run
    total = run.steps[1]
    assert [(i.name, i.producer, i.producer_run) for i in total.inputs] == [("values", "make", run.run_id)]
    assert run.steps[0].outputs[0].name == "values" and total.timings and "total_s" in total.timings
    assert run.options.use_cache is True and run.options.max_parallel

    chunk = await jp_fetch("kale", "v1", "runs", run.run_id, "steps", "make", "log")
    log = msgspec.json.decode(chunk.body, type=LogChunk)
    assert (log.text, log.status) == ("made\n", "succeeded")

    listing = json.loads((await jp_fetch("kale", "v1", "runs", params={"notebook": "nb.ipynb"})).body)
    assert list(listing) == ["runs"]
    runs = msgspec.convert(listing, RunList).runs
    assert [(r.run_id, r.path, r.steps) for r in runs] == [(run.run_id, "nb.ipynb", {"succeeded": 2})]


async def test_not_found_is_the_error_model(jp_fetch):
    status, error = await fail(jp_fetch, "runs", "20990101-000000-abcdef")
    assert status == 404 and error.message and isinstance(error.details, dict)
