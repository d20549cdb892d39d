"""The Open Inference Protocol (V2) over real HTTP: health, metadata, infer, every datatype, 422 for malformed requests."""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import Identity, model_dir


def infer_body(data, shape, datatype="FP64", name="input-0", **extra):
    return {"inputs": [{"name": name, "shape": shape, "datatype": datatype, "data": data}], **extra}


def test_health_and_metadata(serve, iris_dir):
    _, client = serve({"iris": {"versions": {"1": iris_dir}}})
    assert client.call("GET", "/v2/health/live")[:2] == (200, {"live": True})
    assert client.call("GET", "/v2/health/ready")[:2] == (200, {"ready": True})
    assert client.call("GET", "/v2/models")[:2] == (200, {"models": ["iris"]})
    assert client.call("GET", "/v2/models/iris/ready")[:2] == (200, {"name": "iris", "ready": True})
    assert client.call("GET", "/v2/models/iris/versions/1/ready")[:2] == (200, {"name": "iris", "ready": True})
    status, meta, _ = client.call("GET", "/v2/models/iris")
    assert status == 200
    assert meta == {
        "name": "iris",
        "versions": ["1"],
        "platform": "sklearn",
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [{"name": "output-0", "datatype": "INT64", "shape": [-1]}],
    }
    assert client.call("GET", "/v2/models/iris/versions/1")[1]["versions"] == ["1"]
    status, body, _ = client.call("GET", "/v2/models/iris/versions/9")
    assert (status, body) == (404, {"error": "Model with name iris version 9 does not exist."})
    status, body, _ = client.call("GET", "/v2/models/nope")
    assert (status, body) == (404, {"error": "Model with name nope does not exist."})
    assert client.call("GET", "/v2")[1]["name"] == "kale-ext"


def test_infer_answers_kserve_shape_and_echoes_id(serve, iris_dir, iris, logreg):
    _, client = serve({"iris": {"versions": {"1": iris_dir}}})
    X, _ = iris
    body = infer_body(X[:3].reshape(-1).tolist(), [3, 4], id="req-7", parameters={"trace": True})
    status, answer, _ = client.call("POST", "/v2/models/iris/infer", body)
    assert status == 200
    assert answer == {
        "id": "req-7",
        "model_name": "iris",
        "model_version": "1",
        "outputs": [
            {
                "name": "output-0",
                "shape": [3],
                "datatype": "INT64",
                "parameters": None,
                "data": logreg.predict(X[:3]).tolist(),
            }
        ],
        "parameters": None,
    }
    # nested (non-flat) data are read row-major too; a missing id gets a fresh one
    status, answer, _ = client.call("POST", "/v2/models/iris/versions/1/infer", infer_body(X[:2].tolist(), [2, 4]))
    assert status == 200 and answer["outputs"][0]["data"] == logreg.predict(X[:2]).tolist() and answer["id"]


CASES = [
    ("BOOL", [True, False, True, True], [2, 2], [True, False, True, True]),
    ("UINT8", [0, 255, 7, 8], [4], None),
    ("UINT16", [0, 65535], [2], None),
    ("UINT32", [1, 4294967295], [2], None),
    ("UINT64", [1, 2**63], [2], None),
    ("INT8", [-128, 127], [2], None),
    ("INT16", [-32768, 32767], [2], None),
    ("INT32", [-(2**31), 2**31 - 1], [1, 2], None),
    ("INT64", [-(2**63), 2**63 - 1], [2, 1], None),
    ("FP16", [0.5, -2.0, 65504.0, 1.0], [2, 2], None),
    ("FP32", [0.25, -1.5], [2], None),
    ("FP64", [0.1, 1e300], [2], None),
    ("BF16", [1.0, 3.14159], [2], [1.0, 3.140625]),
    ("BYTES", ["a", "héllo"], [2], None),
]


@pytest.mark.parametrize(("datatype", "data", "shape", "expected"), CASES, ids=[c[0] for c in CASES])
def test_datatypes_round_trip(serve, tmp_path, datatype, data, shape, expected):
    d = model_dir(str(tmp_path / "id"), Identity(), "pyfunc")
    _, client = serve({"id": {"versions": {"1": d}}})
    status, answer, _ = client.call("POST", "/v2/models/id/infer", infer_body(data, shape, datatype))
    assert status == 200, answer
    out = answer["outputs"][0]
    # BF16 comes back as the FP32 values a bfloat16 tensor holds (numpy has no bfloat16 to answer with)
    assert out["datatype"] == ("FP32" if datatype == "BF16" else datatype)
    assert out["shape"] == shape
    assert out["data"] == (expected if expected is not None else data)


def test_requested_outputs_select_and_order(serve, tmp_path):
    source = (
        "def preprocess(inputs):\n    return inputs['x']\n"
        "def postprocess(y):\n    return {'double': y * 2, 'neg': -y}\n"
    )
    d = model_dir(str(tmp_path / "id"), Identity(), "pyfunc", transformer=source)
    _, client = serve({"id": {"versions": {"1": d}}})
    body = infer_body([1.0, 2.0], [2], name="x")
    status, answer, _ = client.call("POST", "/v2/models/id/infer", body)
    assert [o["name"] for o in answer["outputs"]] == ["double", "neg"]
    status, answer, _ = client.call("POST", "/v2/models/id/infer", {**body, "outputs": [{"name": "neg"}]})
    assert status == 200 and answer["outputs"] == [
        {"name": "neg", "shape": [2], "datatype": "FP64", "parameters": None, "data": [-1.0, -2.0]}
    ]
    status, answer, _ = client.call("POST", "/v2/models/id/infer", {**body, "outputs": [{"name": "sum"}]})
    assert (
        status == 422
        and "'sum'" in answer["detail"][0]["msg"]
        and answer["detail"][0]["loc"][:2] == ["body", "outputs"]
    )


MALFORMED = [
    ("not json", b"{oops", "not JSON"),
    ("no inputs", b'{"id": "1"}', "missing required field `inputs`"),
    ("empty inputs", b'{"inputs": []}', "at least one tensor"),
    ("input without datatype", b'{"inputs": [{"name": "a", "shape": [1], "data": [1]}]}', "`datatype`"),
    ("shape is not a list", b'{"inputs": [{"name": "a", "shape": 4, "datatype": "FP32", "data": [1]}]}', "shape"),
    (
        "unknown datatype",
        b'{"inputs": [{"name": "a", "shape": [1], "datatype": "FP8", "data": [1]}]}',
        "unknown datatype 'FP8'",
    ),
    (
        "wrong shape",
        b'{"inputs": [{"name": "a", "shape": [2, 3], "datatype": "FP32", "data": [1, 2]}]}',
        "needs 6 elements",
    ),
    (
        "not numbers",
        b'{"inputs": [{"name": "a", "shape": [1], "datatype": "INT32", "data": ["x"]}]}',
        "not INT32 values",
    ),
    (
        "out of range",
        b'{"inputs": [{"name": "a", "shape": [1], "datatype": "UINT8", "data": [300]}]}',
        "not UINT8 values",
    ),
    ("negative dim", b'{"inputs": [{"name": "a", "shape": [-1], "datatype": "FP32", "data": [1]}]}', "negative"),
]


@pytest.mark.parametrize(("case", "raw", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_v2_requests_are_422_with_the_reason(serve, iris_dir, case, raw, reason):
    _, client = serve({"iris": {"versions": {"1": iris_dir}}})
    status, body, _ = client.call("POST", "/v2/models/iris/infer", raw=raw)
    assert status == 422, body
    assert reason in body["detail"][0]["msg"] and body["detail"][0]["loc"][0] == "body"
    assert client.call("GET", "/v2/health/live")[0] == 200


def test_missing_named_input_of_a_multi_input_model(serve, tmp_path, iris):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    names = ["a", "b", "c", "d"]
    model = LogisticRegression(max_iter=1000).fit(pd.DataFrame(X, columns=names), y)
    inputs = [{"name": n, "datatype": "FP64", "shape": [-1]} for n in names]
    d = model_dir(str(tmp_path / "multi"), model, inputs=inputs, feature_names=names)
    _, client = serve({"m": {"versions": {"1": d}}})
    tensors = [{"name": n, "shape": [2], "datatype": "FP64", "data": X[:2, i].tolist()} for i, n in enumerate(names)]
    status, answer, _ = client.call("POST", "/v2/models/m/infer", {"inputs": tensors})
    assert status == 200 and answer["outputs"][0]["data"] == model.predict(pd.DataFrame(X[:2], columns=names)).tolist()
    status, answer, _ = client.call("POST", "/v2/models/m/infer", {"inputs": tensors[:3]})
    assert status == 422 and "Missing inputs ['d']" in answer["detail"][0]["msg"]
    assert np.isfinite(X).all()
