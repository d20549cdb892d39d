"""The serving manager's dicts become the wire models field by field; model cards are read leniently."""

from __future__ import annotations

import json

import msgspec

from kale_ext.api.codec import encode
from kale_ext.api.models import ModelsView
from kale_ext.api.serving_convert import deploy_result, models_view, servable_list
from kale_ext.server.serving import model_dirs_of, read_cards


def _listing(model_dir: str) -> list[dict]:
    return [
        {
            "name": "wine",
            "url": "http://127.0.0.1:8080/v1/models/wine",
            "status": "ready",
            "internal": "not on the wire",
            "versions": [
                {
                    "version": "1",
                    "run_id": "r1",
                    "step": "train_lr",
                    "variable": "lr",
                    "hash": "sha256:a",
                    "kind": "sklearn",
                    "model_dir": model_dir,
                    "created": 1.5,
                },
                {
                    "version": 2,
                    "run_id": None,
                    "step": None,
                    "variable": None,
                    "hash": None,
                    "kind": None,
                    "model_dir": None,
                    "created": None,
                },
            ],  # fmt: skip
            "traffic": {"1": 90, 2: 10},
        }
    ]


def test_the_listing_merges_metrics_and_cards_and_drops_unknown_keys(tmp_path):
    card = {
        "kind": "sklearn",
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 13]}, {"name": "bad", "shape": "x"}],
        "outputs": [{"name": "output-0", "datatype": "INT64", "shape": [-1]}],
        "feature_names": ["alcohol", "ash"],
        "transformer": {"file": "transformer.py", "preprocess": "preprocess", "postprocess": None},
        "explainer": {"kind": "linear", "background": None},
    }
    (tmp_path / "kale-model.json").write_text(json.dumps(card))
    models = _listing(str(tmp_path))
    metrics = {"wine": {"1": {"requests": 10, "errors": 1, "rate_per_s": 2.5, "p50_ms": 1.2, "p99_ms": 3.4}}}
    view = models_view(models, metrics, {"pid": 7, "url": "http://127.0.0.1:8080", "alive": True, "token": "t"},
                       ["a line"], read_cards(model_dirs_of(models)))  # fmt: skip
    decoded = msgspec.json.decode(encode(view), type=ModelsView)  # the wire form round-trips through the model
    [model] = decoded.models
    v1, v2 = model.versions
    assert model.traffic == {"1": 90, "2": 10} and (v1.traffic, v2.traffic) == (90, 10)
    assert (v1.metrics.requests, v1.metrics.errors, v1.metrics.p99_ms) == (10, 1, 3.4)
    assert [(t.name, t.shape) for t in v1.inputs] == [("input-0", [-1, 13])]  # the malformed tensor is left out
    assert v1.feature_names == ["alcohol", "ash"] and v1.transformer and v1.explainer == "linear"
    assert (v2.version, v2.metrics.requests, v2.metrics.p50_ms, v2.inputs) == ("2", 0, None, [])
    assert decoded.server and decoded.server.pid == 7 and decoded.server.port is None
    assert "internal" not in json.loads(encode(view))["models"][0]


def test_unreadable_cards_are_left_out(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "kale-model.json").write_text("{not json")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "kale-model.json").write_text("[1, 2]")
    assert read_cards([str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "missing"), None]) == {}


def test_deploy_answers_and_servable_lists():
    answer = deploy_result({"name": "wine", "version": 2, "url": "u", "traffic": {1: 90, "2": 10}, "extra": 1})
    assert (answer.version, answer.traffic) == ("2", {"1": 90, "2": 10})
    listing = servable_list("r1", [{"step": "s", "variable": "m", "kind": "sklearn", "type": "T", "hash": "h", "x": 1}])
    assert [(m.step, m.variable) for m in listing.models] == [("s", "m")] and listing.run_id == "r1"


def test_times_are_unix_seconds_whether_the_server_wrote_iso_text_or_a_number():
    """The inference server writes server.json's "started" as ISO 8601 text; the wire carries Unix seconds."""
    from kale_ext.api.serving_convert import _time

    assert _time("2026-12-01T23:11:00+00:00") == 1796166660.0
    assert _time("2026-12-01T23:11:00Z") == 1796166660.0
    assert _time(1796166660) == 1796166660.0 and _time("1796166660.5") == 1796166660.5
    assert _time(None) is None and _time("not a time") is None
