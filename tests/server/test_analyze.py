import json

import pytest
from tornado.httpclient import HTTPClientError

from tests.conftest import SHARED
from tests.hostile_cells import DEPTH, HOSTILE, hostile_notebook
from tests.notebooks import make_notebook as _nb

NOTEBOOK = _nb((["step:load"], "x = 1\ny = [1, 2]"), (["step:train", "prev:load"], "z = x + 1\ny.append(z)"))


async def test_analyze_live_notebook(jp_fetch):
    response = await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps(NOTEBOOK))
    body = json.loads(response.body)
    steps = {s["name"]: s for s in body["steps"]}
    assert steps["train"]["inputs"] == ["x", "y"]
    assert steps["train"]["depends_on"] == ["load"]
    assert steps["load"]["outputs"] == ["x", "y"]
    assert body["diagnostics"] == [] or all(d["severity"] != "error" for d in body["diagnostics"])


async def test_analyze_wrapped_notebook_and_saved_path(jp_fetch, jp_root_dir):
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    wrapped = await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps({"notebook": NOTEBOOK}))
    saved = await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps({"path": "nb.ipynb"}))
    assert json.loads(wrapped.body)["steps"] == json.loads(saved.body)["steps"]
    assert json.loads(saved.body)["pipeline"]["name"]


async def test_analyze_answers_every_cells_role_and_step(jp_fetch):
    # The sidebar shows these roles instead of re-deriving them: untagged cells after a skip cell join the step above.
    nb = _nb(
        (["step:load"], "x = 1"), (None, "# Look"), (["skip"], "print(x)"), ([], "y = x + 1"), (["step:train"], "z = y")
    )
    body = json.loads((await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps(nb))).body)
    assert body["cells"] == [
        {"index": 0, "role": "step", "step": "load"},
        {"index": 1, "role": "markdown", "step": None},
        {"index": 2, "role": "skip", "step": None},
        {"index": 3, "role": "step", "step": "load"},
        {"index": 4, "role": "step", "step": "train"},
    ]


async def test_analyze_reports_undefined_name_on_its_cell(jp_fetch):
    nb = _nb((["step:a"], "x = 1"), (["step:b"], "print(x)\nprint(nope)"))
    body = json.loads((await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps(nb))).body)
    errors = [d for d in body["diagnostics"] if d["severity"] == "error"]
    assert [(d["cell"], d["line"]) for d in errors] == [(1, 2)]
    assert "nope" in errors[0]["message"]


@pytest.mark.parametrize(
    "body, code",
    [
        ("", "request.empty"),
        ("{not json", "request.json"),
        ("[1, 2]", "request.json"),
        ('{"cells": "nope"}', None),
        ('{"notebook": 3}', "request.notebook"),
        ('{"something": 1}', "request.notebook"),
    ],
)
async def test_malformed_bodies_are_400_with_a_message(jp_fetch, body, code):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", "analyze", method="POST", body=body, allow_nonstandard_methods=True)
    assert err.value.code == 400
    payload = json.loads(err.value.response.body)
    assert payload["message"]
    if code:
        assert payload["code"] == code


@pytest.mark.parametrize("path", ["../outside.ipynb", "a/../../outside.ipynb", "../../../../../../etc/passwd"])
async def test_paths_outside_the_root_are_refused(jp_fetch, jp_root_dir, path):
    (jp_root_dir.parent / "outside.ipynb").write_text(json.dumps(NOTEBOOK))
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps({"path": path}))
    assert err.value.code == 403
    assert json.loads(err.value.response.body)["code"] == "path.forbidden"


async def test_api_paths_are_rooted_at_the_server_root(jp_fetch, jp_root_dir):
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    response = await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps({"path": "/nb.ipynb"}))
    assert response.code == 200


async def test_missing_notebook_is_4xx(jp_fetch):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps({"path": "missing.ipynb"}))
    assert 400 <= err.value.code < 500


@pytest.mark.skipif(not (SHARED / "compat").is_dir(), reason="../shared/compat is not beside this checkout")
async def test_analyze_kale_compat_notebook(jp_fetch):
    nb = json.loads((SHARED / "compat" / "candies_sharing.ipynb").read_text())
    body = json.loads((await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps(nb))).body)
    assert [s["name"] for s in body["steps"]] == ["sack", "kid1", "kid2", "kid3"]


@pytest.mark.parametrize("name", ["sum_of_400000_terms", "list_nested_100000_deep", "parentheses_nested_100000_deep"])
async def test_analyze_too_complex_cell_is_200_with_its_diagnostic(jp_fetch, name):
    nb = hostile_notebook(HOSTILE[name])
    response = await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps(nb))
    assert response.code == 200
    body = json.loads(response.body)
    errors = [d for d in body["diagnostics"] if d["severity"] == "error"]
    assert [(d["code"], d["cell"]) for d in errors] == [("syntax.too_complex", 1)]
    assert "split" in errors[0]["message"].lower()


async def test_saved_notebook_nested_too_deeply_is_400(jp_fetch, jp_root_dir):
    (jp_root_dir / "deep.ipynb").write_text('{"cells": ' + "[" * DEPTH + "]" * DEPTH + "}")
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", "analyze", method="POST", body=json.dumps({"path": "deep.ipynb"}))
    assert err.value.code == 400
    assert json.loads(err.value.response.body)["code"] == "notebook.too_complex"
