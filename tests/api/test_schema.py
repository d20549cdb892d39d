"""The committed contract files are what the models generate: the JSON Schema, and the TypeScript made from it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from kale_ext.api import API_VERSION
from kale_ext.api.schema import MODELS, api_schema, main
from tests.conftest import REPO_ROOT

SCHEMA = REPO_ROOT / "kale_ext" / "api" / "api.schema.json"
GENERATED = REPO_ROOT / "src" / "api" / "generated.ts"
SETTINGS = REPO_ROOT / "src" / "api" / "settings.ts"


def test_committed_schema_is_the_models_export():
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == api_schema(), "run `jlpm build:api` and commit"
    assert main(["--check", str(SCHEMA)]) == 0


def test_schema_check_fails_on_a_stale_file(tmp_path):
    stale = api_schema()
    del stale["$defs"]["LogChunk"]["properties"]["status"]
    out = tmp_path / "api.schema.json"
    out.write_text(json.dumps(stale))
    assert main(["--check", str(out)]) == 1
    assert main([str(out)]) == 0 and main(["--check", str(out)]) == 0


def test_schema_has_every_model_and_the_api_version():
    schema = api_schema()
    assert schema["x-api-version"] == API_VERSION
    assert {m.__name__ for m in MODELS} <= set(schema["$defs"])
    assert schema["$defs"]["LogChunk"]["required"] == ["text", "next_offset", "status"]
    assert set(schema["$defs"]["RunStep"]["properties"]) >= {"inputs", "outputs", "timings", "cached_from", "cache_key"}
    assert set(schema["$defs"]["Run"]["properties"]) >= {"path", "runner", "external_id"}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_committed_typescript_is_generated_from_the_models(tmp_path):
    """Regenerate through node from the models' current export into a temporary folder and compare byte for byte."""
    schema = tmp_path / "api.schema.json"
    schema.write_text(json.dumps(api_schema(), indent=2))
    result = subprocess.run(
        ["node", str(REPO_ROOT / "scripts" / "generate-api.mjs"), "--schema", str(schema), "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "generated.ts").read_text() == GENERATED.read_text(), "run `jlpm build:api` and commit"
    assert (tmp_path / "settings.ts").read_text() == SETTINGS.read_text(), "run `jlpm build:api` and commit"


def test_generated_files_say_so_and_carry_the_api_version():
    generated = GENERATED.read_text()
    for text in (generated, SETTINGS.read_text()):
        assert "do not edit" in text.split("*/", 1)[0]
    assert re.search(r"^export const API_VERSION = '(\w+)';$", generated, re.M).group(1) == API_VERSION
    for name in ("ServerInfo", "Analysis", "CellRole", "Run", "RunSummary", "RunStep", "LogChunk", "ErrorBody"):
        assert f"export interface {name} {{" in generated
