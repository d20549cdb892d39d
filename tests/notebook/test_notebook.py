"""Reading notebooks (without nbformat), tags and metadata migration."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kale_ext.analysis import analyze
from kale_ext.errors import NotebookError
from kale_ext.notebook import load_notebook
from kale_ext.notebook.metadata import read_settings
from kale_ext.notebook.tags import STEP, parse_tags


def write(tmp_path, content, name="nb.ipynb"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "content,fragment",
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected a notebook JSON object"),
        ({"metadata": {}}, "no 'cells'"),
        ({"cells": [], "nbformat": 3}, "nbformat 3"),
        ({"worksheets": []}, "nbformat 3"),
        ({"cells": [{"cell_type": "code", "source": 5}], "nbformat": 4}, "'source'"),
        ({"cells": "x", "nbformat": 4}, "'cells' must be a list"),
    ],
)
def test_unusable_notebooks_raise_one_line(tmp_path, content, fragment):
    with pytest.raises(NotebookError) as info:
        load_notebook(write(tmp_path, content))
    assert fragment in info.value.message and "\n" not in info.value.message


def test_missing_file(tmp_path):
    with pytest.raises(NotebookError, match="no such file"):
        load_notebook(tmp_path / "absent.ipynb")


def test_analyze_rejects_non_notebook_dict():
    with pytest.raises(NotebookError):
        analyze({"hello": 1})


def test_sources_as_string_or_list(tmp_path):
    nb = {
        "nbformat": 4,
        "metadata": {},
        "cells": [
            {"cell_type": "code", "metadata": {"tags": ["step:a"]}, "source": "x = 1\n"},
            {"cell_type": "code", "metadata": {"tags": ["step:b"]}, "source": ["y = ", "x\n"]},
        ],
    }
    p = analyze(load_notebook(write(tmp_path, nb)))
    assert p.step("b").inputs == ["x"]


def test_load_does_not_import_nbformat(tmp_path):
    path = write(tmp_path, {"nbformat": 4, "metadata": {}, "cells": []})
    code = (
        "import sys\nfrom kale_ext.notebook import load_notebook\nfrom kale_ext.analysis import analyze\n"
        f"analyze(load_notebook({str(path)!r}))\n"
        "print('nbformat' in sys.modules, 'IPython' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_tags_parse_kale_language():
    t = parse_tags(
        [
            "block:train",
            "prev:load",
            "limit:nvidia.com/gpu:1",
            "label:team:ml",
            "annotation:a/b:c",
            "image:python:3.12",
            "secret:db-creds:password:DB_PASSWORD",
            "cache:disabled",
        ]
    )
    assert (t.kind, t.step, t.prev) == (STEP, "train", ["load"])
    assert t.limits == {"nvidia.com/gpu": "1"} and t.labels == {"team": "ml"} and t.annotations == {"a/b": "c"}
    assert t.image == "python:3.12" and t.secrets == ["db-creds:password:DB_PASSWORD"] and t.cache is False
    assert not t.problems


def test_tags_problems():
    assert [c for c, _ in parse_tags(["step:a", "step:b"]).problems] == ["tag.conflict"]
    assert [c for c, _ in parse_tags(["prev:a"]).problems] == ["tag.misplaced"]
    assert [c for c, _ in parse_tags(["cache:maybe", "step:a"]).problems] == ["tag.unknown"]
    assert [c for c, _ in parse_tags(["step:9bad"]).problems] == ["tag.invalid"]


def test_step_config_reaches_the_model():
    nb = {
        "nbformat": 4,
        "metadata": {},
        "cells": [
            {"cell_type": "code", "metadata": {"tags": ["step:a", "image:img:1", "limit:cpu:2"]}, "source": "x = 1"}
        ],
    }
    cfg = analyze(nb).step("a").config
    assert cfg.image == "img:1" and cfg.limits == {"cpu": "2"}


def test_metadata_merge_and_migration():
    nb = {
        "metadata": {
            "kubeflow_notebook": {"pipeline_name": "kale-name", "experiment_name": "e"},
            "kale_ext": {"name": "own-name"},
        }
    }
    s = read_settings(nb)
    assert s["pipeline_name"] == "own-name" and s["experiment_name"] == "e" and s["version"] == 1
    nb2 = {"nbformat": 4, "metadata": nb["metadata"], "cells": []}
    assert analyze(nb2, name="fallback").name == "own-name"
    assert analyze({"nbformat": 4, "metadata": {}, "cells": []}, name="fallback").name == "fallback"


def test_markdown_cells_count_in_indices():
    nb = {
        "nbformat": 4,
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# t"},
            {"cell_type": "code", "metadata": {"tags": ["step:a"]}, "source": "y = nope"},
        ],
    }
    p = analyze(nb)
    assert [c.index for c in p.step("a").cells] == [1]
    d = p.diagnostics[0]
    assert (d.code, d.cell, d.line) == ("name.undefined", 1, 1)
