"""The fixed list of protocol requests recorded against KServe 0.21's model server (record_kserve.py) and replayed
against kale-ext's (test_kserve_compat.py). Models: "m", a LogisticRegression on iris (4 FP64 features, INT64
classes); "pipe", a StandardScaler + LogisticRegression Pipeline; "loading", registered but never ready.

``send`` is how both sides send a case, so the recorded and the replayed requests are the same bytes.

Each case: id, method, path, body (a JSON value, or raw text under "raw"), and "ours": the status kale-ext must answer
when it differs from KServe's (KServe 0.21 answers a wrong shape and an unknown datatype with 500; the issue asks 422).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

ROW = [5.1, 3.5, 1.4, 0.2]
ROWS = [ROW, [6.7, 3.0, 5.2, 2.3]]
FLAT = [x for r in ROWS for x in r]


def infer(data=FLAT, shape=(2, 4), datatype="FP64", **extra):
    return {
        "id": "req-1",
        "inputs": [{"name": "input-0", "shape": list(shape), "datatype": datatype, "data": data}],
        **extra,
    }


CASES: list[dict] = [
    {"id": "v1_list", "method": "GET", "path": "/v1/models"},
    {"id": "v1_model", "method": "GET", "path": "/v1/models/m"},
    {"id": "v1_model_unknown", "method": "GET", "path": "/v1/models/nope"},
    {"id": "v1_predict", "method": "POST", "path": "/v1/models/m:predict", "body": {"instances": ROWS}},
    {"id": "v1_predict_one_row", "method": "POST", "path": "/v1/models/m:predict", "body": {"instances": [ROW]}},
    {"id": "v1_predict_pipeline", "method": "POST", "path": "/v1/models/pipe:predict", "body": {"instances": ROWS}},
    {
        "id": "v1_predict_unknown_model",
        "method": "POST",
        "path": "/v1/models/nope:predict",
        "body": {"instances": ROWS},
    },
    {"id": "v1_predict_not_json", "method": "POST", "path": "/v1/models/m:predict", "raw": '{"instances": [[5.1, 3.5'},
    {
        "id": "v1_predict_model_error",
        "method": "POST",
        "path": "/v1/models/m:predict",
        "body": {"instances": [[1.0, 2.0]]},
    },
    {"id": "v1_predict_not_ready", "method": "POST", "path": "/v1/models/loading:predict", "body": {"instances": ROWS}},
    {"id": "v2_live", "method": "GET", "path": "/v2/health/live"},
    {"id": "v2_ready", "method": "GET", "path": "/v2/health/ready"},
    {"id": "v2_model_ready", "method": "GET", "path": "/v2/models/m/ready"},
    {"id": "v2_model_ready_unknown", "method": "GET", "path": "/v2/models/nope/ready"},
    {"id": "v2_model_ready_not_ready", "method": "GET", "path": "/v2/models/loading/ready"},
    {"id": "v2_metadata", "method": "GET", "path": "/v2/models/m"},
    {"id": "v2_metadata_unknown", "method": "GET", "path": "/v2/models/nope"},
    {"id": "v2_infer_fp64", "method": "POST", "path": "/v2/models/m/infer", "body": infer()},
    {"id": "v2_infer_fp32", "method": "POST", "path": "/v2/models/m/infer", "body": infer(datatype="FP32")},
    {
        "id": "v2_infer_int64",
        "method": "POST",
        "path": "/v2/models/m/infer",
        "body": infer([5, 3, 1, 0], (1, 4), "INT64"),
    },
    {"id": "v2_infer_nested_data", "method": "POST", "path": "/v2/models/m/infer", "body": infer(ROWS)},
    {"id": "v2_infer_pipeline", "method": "POST", "path": "/v2/models/pipe/infer", "body": infer()},
    {
        "id": "v2_infer_parameters",
        "method": "POST",
        "path": "/v2/models/m/infer",
        "body": infer(parameters={"trace": "abc"}),
    },
    {
        "id": "v2_infer_requested_outputs",
        "method": "POST",
        "path": "/v2/models/m/infer",
        "body": infer(outputs=[{"name": "output-0"}]),
    },
    {"id": "v2_infer_no_id", "method": "POST", "path": "/v2/models/m/infer", "body": {"inputs": infer()["inputs"]}},
    {"id": "v2_infer_unknown_model", "method": "POST", "path": "/v2/models/nope/infer", "body": infer()},
    {"id": "v2_infer_not_ready", "method": "POST", "path": "/v2/models/loading/infer", "body": infer()},
    {"id": "v2_infer_not_json", "method": "POST", "path": "/v2/models/m/infer", "raw": '{"inputs": ['},
    {"id": "v2_infer_missing_inputs", "method": "POST", "path": "/v2/models/m/infer", "body": {"id": "req-1"}},
    {
        "id": "v2_infer_missing_data",
        "method": "POST",
        "path": "/v2/models/m/infer",
        "body": {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64"}]},
    },
    {
        "id": "v2_infer_wrong_shape",
        "method": "POST",
        "path": "/v2/models/m/infer",
        "body": infer(FLAT[:7]),
        "ours": 422,
    },
    {
        "id": "v2_infer_unknown_datatype",
        "method": "POST",
        "path": "/v2/models/m/infer",
        "body": infer(datatype="FP65"),
        "ours": 422,
    },
    {"id": "v2_infer_model_error", "method": "POST", "path": "/v2/models/m/infer", "body": infer([1.0, 2.0], (1, 2))},
]


def send(base: str, case: dict, timeout: float = 30) -> tuple[int, object]:
    """One case sent to the server at ``base``: (status, the JSON body, or {"_text": ...} when it is not JSON)."""
    data = case["raw"].encode() if "raw" in case else json.dumps(case["body"]).encode() if "body" in case else None
    req = urllib.request.Request(base + case["path"], data=data, method=case["method"])
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"_text": raw.decode(errors="replace")}
