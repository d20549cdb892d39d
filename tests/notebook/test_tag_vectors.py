"""The tag grammar's shared test vectors (tests/fixtures/tag_vectors.json, also read by src/__tests__/tag-vectors.spec.ts):
kale_ext's tag parser, and the role and step the analysis answers for every cell (what the sidebar shows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kale_ext.analysis import analyze
from kale_ext.notebook.tags import parse_tags

VECTORS = json.loads((Path(__file__).parent.parent / "fixtures" / "tag_vectors.json").read_text(encoding="utf-8"))[
    "vectors"
]
NO_CONFIG = {"image": None, "limits": {}, "labels": {}, "annotations": {}, "secrets": [], "cache": None, "report": None}


def notebook(vector: dict) -> dict:
    cells = [
        {"cell_type": c["cell_type"], "metadata": {"tags": c["tags"]} if c["tags"] else {}, "source": c["source"]}
        for c in vector["cells"]
    ]
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


def test_there_are_enough_vectors_and_their_names_are_unique():
    names = [v["name"] for v in VECTORS]
    assert len(names) >= 25 and len(set(names)) == len(names)
    assert all(len(v["cells"]) == len(v["parsed"]) == len(v["roles"]) for v in VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_parser_reads_each_cells_tags(vector):
    for cell, expected in zip(vector["cells"], vector["parsed"], strict=True):
        if expected is None:  # markdown and raw cells: their tags mean nothing to the pipeline
            assert cell["cell_type"] != "code"
            continue
        parsed = parse_tags(cell["tags"])
        assert (parsed.kind, parsed.step, parsed.prev) == (expected["kind"], expected["step"], expected.get("prev", []))
        config = {k: getattr(parsed, k) for k in NO_CONFIG}
        assert config == {**NO_CONFIG, **expected.get("config", {})}
        assert [code for code, _ in parsed.problems] == expected.get("problems", [])


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_analysis_answers_every_cells_role_and_step(vector):
    body = analyze(notebook(vector)).to_json()
    assert body["cells"] == vector["roles"]
    # The roles agree with the steps the runners execute: a cell is in step S's cells exactly when its role says S.
    members = {s["name"]: s["cells"] for s in body["steps"]}
    by_role: dict[str, list[int]] = {}
    for role in body["cells"]:
        assert (role["role"] == "step") == (role["step"] is not None)
        if role["step"] is not None:
            by_role.setdefault(role["step"], []).append(role["index"])
    assert by_role == members
