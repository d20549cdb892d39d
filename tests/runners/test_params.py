"""Parameter values from text (`--param NAME=VALUE`, strings sent to the REST API): a literal of the parameter's type
is evaluated, anything else stays the text; typed values are then checked against the defaults' types."""

from __future__ import annotations

import pytest

from kale_ext.runners.params import ParameterError, parse_value, resolve


@pytest.mark.parametrize(
    "text, default, value",
    [
        ("'boom'", "x", "boom"),  # a str literal for a str parameter: its value, without the quotes
        ('"boom"', "x", "boom"),
        ("boom", "x", "boom"),  # a bare word stays a string
        ("3", "x", "3"),  # a literal of another type stays the text
        ("[1, 2]", "x", "[1, 2]"),
        (" boom ", "x", " boom "),
        ("3", 1, 3),
        ("-3", 1, -3),
        ("3", 0.5, 3),  # an int for a float parameter (resolve makes it 3.0)
        ("2.5", 0.5, 2.5),
        ("True", False, True),
        ("1", False, "1"),  # an int is not a bool
        ("[1, 2]", [0], [1, 2]),
        ("(1, 2)", [0], (1, 2)),
        ("{'a': 1}", {}, {"a": 1}),
        ("boom", 1, "boom"),  # not an int: the text, which resolve refuses
        ("3", None, 3),  # no typed default: any literal
        ("boom", None, "boom"),
    ],
)
def test_parse_value(text, default, value):
    parsed = parse_value(text, default)
    assert parsed == value and type(parsed) is type(value)


def test_resolve_applies_typed_values_and_refuses_the_rest():
    defaults = {"MODE": "x", "N": 1, "RATE": 0.5, "SIZES": (1,)}
    texts = {"MODE": "'boom'", "N": "3", "RATE": "2", "SIZES": "[4, 5]"}
    values = resolve(defaults, {k: parse_value(t, defaults[k]) for k, t in texts.items()})
    assert values == {"MODE": "boom", "N": 3, "RATE": 2.0, "SIZES": (4, 5)}
    assert type(values["RATE"]) is float and type(values["SIZES"]) is tuple
    with pytest.raises(ParameterError, match="'N' expects a int like its default 1, got 'boom'"):
        resolve(defaults, {"N": parse_value("boom", 1)})
    with pytest.raises(ParameterError, match="expects a bool"):
        resolve({"FLAG": False}, {"FLAG": 1})
    with pytest.raises(ParameterError, match=r"Unknown parameter 'M' \(known: MODE, N, RATE, SIZES\)"):
        resolve(defaults, {"M": 1})
