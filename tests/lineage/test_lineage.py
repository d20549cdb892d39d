"""Lineage answers from real runs: a run's steps (code hash, parameters, inputs with producers through cache reuse,
outputs, models, metrics, snapshot, served models), an artifact's producer and users, a snapshot's runs, and the CLI
(human summary, --json, errors as one line and exit 2)."""

from __future__ import annotations

import json
import os

import pytest

from kale_ext import cli, lineage
from kale_ext.lineage.graph import code_hash, step_specs
from kale_ext.store import Store
from tests.lineage.conftest import SMALL_CELLS, run_notebook
from tests.notebooks import write_notebook


def steps_by_name(answer):
    return {s["name"]: s for s in answer["steps"]}


def test_run_lineage_names_code_parameters_inputs_and_producers(small):
    store, run, _, _ = small
    answer = lineage.run_lineage(store, run["run_id"])
    steps = steps_by_name(answer)
    specs = step_specs(store.run_row(run["run_id"]))
    assert {n: s["code_hash"] for n, s in steps.items()} == {n: code_hash(spec) for n, spec in specs.items()}
    assert len({s["code_hash"] for s in steps.values()}) == 4
    assert steps["double"]["parameters"] == {"FACTOR": 3} and steps["boom"]["parameters"] == {"LABEL": "x"}
    assert steps["load"]["parameters"] == {}
    recorded = {s["name"]: s for s in run["steps"]}
    for name in ("double", "boom", "report"):
        ins = {i["name"]: i for i in steps[name]["inputs"]}
        assert {k: v["hash"] for k, v in ins.items()} == {i["name"]: i["hash"] for i in recorded[name]["inputs"]}
        assert all(i["producer"]["run_id"] == run["run_id"] for i in ins.values())
    assert {i["name"]: i["producer"]["step"] for i in steps["boom"]["inputs"]} == {"data": "load", "meta": "load"}
    assert steps["boom"]["status"] == "failed" and steps["boom"]["error"].startswith("ValueError: boom 66 12 x")
    assert steps["boom"]["outputs"] == []
    assert [o["name"] for o in steps["load"]["outputs"]] == ["data", "meta"]
    assert steps["report"]["metrics"] == {"result": 198.0} and answer["metrics"]["result"] == {
        "value": 198.0,
        "step": "report",
    }
    assert answer["snapshot_id"] == run["snapshot_id"] is not None, "every run records its workspace snapshot"
    assert answer["snapshot"]["files"] >= 1 and answer["snapshot"]["missing"] is False
    assert answer["served_models"] == []


def test_changing_one_steps_cell_changes_only_that_steps_code_hash(small, tmp_path):
    store, first, _, _ = small
    cells = [
        (tags, "doubled = scale(data, FACTOR) + 0\n") if tags == ["step:double", "prev:load"] else (tags, source)
        for tags, source in SMALL_CELLS
    ]
    assert cells != list(SMALL_CELLS)  # the double step's cell really was replaced
    nb = write_notebook(tmp_path / "small.ipynb", *cells)
    changed_store = Store(str(tmp_path / ".kale"))
    changed = run_notebook(nb, changed_store)
    before = {n: s["code_hash"] for n, s in steps_by_name(lineage.run_lineage(store, first["run_id"])).items()}
    after = {n: s["code_hash"] for n, s in steps_by_name(lineage.run_lineage(changed_store, changed["run_id"])).items()}
    assert set(before) == set(after) == {"load", "double", "boom", "report"}
    assert after["double"] != before["double"]
    assert {n: h for n, h in after.items() if n != "double"} == {n: h for n, h in before.items() if n != "double"}


def test_a_cached_rerun_traces_its_artifacts_to_the_execution_that_made_them(small):
    store, first, again, _ = small
    steps = steps_by_name(lineage.run_lineage(store, again["run_id"]))
    assert {n: s["cached_from"] for n, s in steps.items()} == {
        "load": first["run_id"],
        "double": first["run_id"],
        "boom": None,
        "report": first["run_id"],
    }
    assert all(o["origin"] == {"run_id": first["run_id"], "step": "load"} for o in steps["load"]["outputs"])
    # boom really ran again, on the cached outputs of load: its inputs come from the first run's load execution
    assert {i["name"]: i["origin"] for i in steps["boom"]["inputs"]} == {
        "data": {"run_id": first["run_id"], "step": "load"},
        "meta": {"run_id": first["run_id"], "step": "load"},
    }
    assert (
        steps["double"]["code_hash"]
        == steps_by_name(lineage.run_lineage(store, first["run_id"]))["double"]["code_hash"]
    )


def test_artifact_lineage_finds_the_producer_and_every_run_that_used_it(small):
    store, first, again, _ = small
    [data] = [o for s in first["steps"] if s["name"] == "load" for o in s["outputs"] if o["name"] == "data"]
    answer = lineage.lineage(store, data["hash"].removeprefix("sha256:")[:12])  # a prefix of the hex digits
    assert answer["kind"] == "artifact" and answer["hash"] == data["hash"] and answer["type"] == "numpy.ndarray"
    assert answer["produced_by"]["run_id"] == first["run_id"] and answer["produced_by"]["step"] == "load"
    assert (
        answer["produced_by"]["code_hash"]
        == steps_by_name(lineage.run_lineage(store, first["run_id"]))["load"]["code_hash"]
    )
    used = {(u["run_id"], u["step"], u["how"]) for u in answer["used_by"]}
    assert used == {
        (first["run_id"], "double", "input"),
        (first["run_id"], "boom", "input"),
        (again["run_id"], "double", "input"),
        (again["run_id"], "boom", "input"),
        (again["run_id"], "load", "cache"),
    }
    assert answer["runs"] == sorted([first["run_id"], again["run_id"]])


def test_a_model_served_from_a_run(wine):
    store, run, served = wine
    answer = lineage.run_lineage(store, run["run_id"])
    [version] = answer["served_models"]
    assert (version["name"], version["version"], version["step"], version["variable"]) == (
        "wine-rf",
        served["version"],
        "train_rf",
        "rf",
    )
    assert version["live"] is True and version["kind"] == "sklearn"
    train = steps_by_name(answer)["train_rf"]
    assert [m["name"] for m in train["models"]] == ["rf"] and train["models"][0]["kind"] == "sklearn"
    assert {i["name"] for i in train["inputs"]} >= {"X_train", "y_train"}
    art = lineage.lineage(store, train["models"][0]["hash"])
    assert [(v["name"], v["version"]) for v in art["served_models"]] == [("wine-rf", served["version"])]
    assert art["produced_by"]["step"] == "train_rf" and art["produced_by"]["run_id"] == run["run_id"]
    assert {i["name"]: i["origin"]["step"] for i in art["produced_by"]["inputs"]}["X_train"] == "preprocess"
    assert art["produced_by"]["metrics"] == {}, "the wine example's metrics are computed by its evaluate step"
    assert answer["metrics"]["rf_accuracy"] == {"value": run["metrics"]["rf_accuracy"], "step": "evaluate"}
    assert set(steps_by_name(answer)["evaluate"]["metrics"]) == set(run["metrics"])


def test_snapshot_lineage_lists_the_runs_that_used_it(small):
    """Each run records the snapshot of its workspace taken before its first step; the snapshot answers with its run."""
    store, first, again, nb = small
    assert first["snapshot_id"] and again["snapshot_id"] and first["snapshot_id"] != again["snapshot_id"]
    answer = lineage.lineage(store, first["snapshot_id"])
    assert answer["kind"] == "snapshot" and [r["run_id"] for r in answer["runs"]] == [first["run_id"]]
    run = lineage.run_lineage(store, again["run_id"])
    assert run["snapshot_id"] == again["snapshot_id"] and run["snapshot"]["missing"] is False
    assert run["snapshot"]["new_bytes"] == 0, "the unchanged workspace of the re-run stores nothing new"
    assert run["snapshot"]["root"] == os.path.dirname(str(nb))


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_json_and_summary(small, capsys):
    store, first, again, _ = small
    code, out, _ = run_cli(capsys, "lineage", again["run_id"], "--json", "--store", store.folder)
    assert code == 0 and json.loads(out) == json.loads(
        json.dumps(lineage.run_lineage(store, again["run_id"]), default=str)
    )
    code, out, _ = run_cli(capsys, "lineage", again["run_id"], "--store", store.folder)
    assert code == 0 and f"run {again['run_id']}: failed" in out
    assert f"(from the cache of run {first['run_id']})" in out and "error: ValueError: boom 66 12 x" in out


def test_cli_finds_the_store_from_the_current_folder(small, capsys, monkeypatch):
    store, first, _, nb = small
    import os

    monkeypatch.delenv("KALE_EXT_HOME", raising=False)
    monkeypatch.chdir(os.path.dirname(nb))
    code, out, _ = run_cli(capsys, "lineage", first["run_id"], "--json")
    assert code == 0 and json.loads(out)["run_id"] == first["run_id"]


@pytest.mark.parametrize("ref", ["20000101-000000-000000", "abc", "deadbeefdeadbeef"])
def test_cli_unknown_reference_is_one_line_and_exit_2(small, capsys, ref):
    store = small[0]
    code, out, err = run_cli(capsys, "lineage", ref, "--store", store.folder)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"No {ref!r} in the run store" in err


def test_cli_mlmd_needs_a_run(small, capsys, tmp_path):
    store, first, _, _ = small
    [data] = [o for s in first["steps"] if s["name"] == "load" for o in s["outputs"] if o["name"] == "data"]
    code, _, err = run_cli(capsys, "lineage", data["hash"], "--mlmd", str(tmp_path / "x.json"), "--store", store.folder)
    assert code == 2 and "Pass a run id" in err and err.count("\n") == 1
