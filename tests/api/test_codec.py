"""The codec turns every bad body into a 400 KaleError that says what is wrong, naming the field when one is at fault."""

from __future__ import annotations

import pytest

from kale_ext.api import codec
from kale_ext.api.analysis import AnalyzeRequest
from kale_ext.api.runs import StartRunRequest
from kale_ext.errors import InvalidRequestError


@pytest.mark.parametrize(
    "raw, code",
    [
        (b"", "request.empty"),
        (b"  \n", "request.empty"),
        (b"{not json", "request.json"),
        (b"\xff\xfe", "request.json"),
        (b'{"a": 1} trailing', "request.json"),
        (b"[1, 2]", "request.json"),
        (b'"text"', "request.json"),
        (b"null", "request.json"),
        (b"[" * 100_000 + b"]" * 100_000, "request.too_deep"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "request.too_deep"),
    ],
)
def test_unusable_bodies_are_400(raw, code):
    with pytest.raises(InvalidRequestError) as err:
        codec.decode_object(raw)
    assert err.value.status == 400 and err.value.code == code and err.value.message


@pytest.mark.parametrize(
    "body, field, code, says",
    [
        (
            {"path": "nb.ipynb", "max_parallel": "x"},
            "max_parallel",
            "request.field",
            "expected `int | null`, got `str`",
        ),
        ({"path": "nb.ipynb", "use_cache": 3}, "use_cache", "request.field", "expected `bool`, got `int`"),
        ({"path": "nb.ipynb", "parameters": [1]}, "parameters", "request.field", "expected `object`, got `array`"),
        ({}, "path", "path.invalid", "missing the required field 'path'"),
        ({"path": 7}, "path", "path.invalid", "got `int`"),
        ({"path": "nb.ipynb", "notebook": "x"}, "notebook", "request.notebook", "got `str`"),
    ],
)
def test_field_errors_name_the_field_and_what_was_expected(body, field, code, says):
    with pytest.raises(codec.RequestFieldError) as err:
        codec.parse(body, StartRunRequest)
    assert err.value.status == 400
    assert err.value.code == code
    assert err.value.details["field"] == field
    assert f"'{field}'" in err.value.message and says in err.value.message


def test_nested_field_paths_are_kept():
    from kale_ext.api.runs import RunList

    with pytest.raises(codec.RequestFieldError) as err:
        codec.parse({"runs": [{"run_id": 1}]}, RunList)
    assert err.value.details["field"].startswith("runs[0]")


def test_a_valid_body_fills_the_defaults():
    request = codec.decode(b'{"path": "a.ipynb", "parameters": {"N": 3}}', StartRunRequest)
    assert (request.path, request.parameters, request.use_cache, request.fail_fast, request.max_parallel) == (
        "a.ipynb",
        {"N": 3},
        True,
        False,
        None,
    )
    assert codec.decode(b"{}", AnalyzeRequest) == AnalyzeRequest(notebook=None, path=None)


def test_encode_writes_values_without_a_json_form_as_text():
    class Odd:
        def __str__(self) -> str:
            return "odd!"

    assert codec.encode({"a": Odd(), "b": (1, 2)}) == b'{"a":"odd!","b":[1,2]}'
