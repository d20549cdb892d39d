"""The Open Inference Protocol (KServe V2) over REST: request validation, tensor decoding and response encoding.

Datatypes as KServe's numpy codec maps them (BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES) plus BF16, which
numpy lacks: BF16 data is decoded to float32 rounded to bfloat16's 8-bit mantissa, so the model sees the values a
bfloat16 tensor holds. ``data`` is row-major, flat or nested. Every malformed request is a V2RequestError (422 with the
reason and where in the body), where KServe 0.21 answers a wrong shape or an unknown datatype with 500.
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import numpy as np

from ..errors import KaleError

NP_DTYPES: dict[str, Any] = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BF16": np.float32,
    "BYTES": np.object_,
}
_KIND_NAMES = {"b": "BOOL", "O": "BYTES", "U": "BYTES", "S": "BYTES"}


class V2RequestError(KaleError):
    """A malformed V2 request: 422 with FastAPI's error shape, {"detail": [{"loc", "msg", "type"}]}."""

    status = 422
    code = "v2.invalid"

    def __init__(self, message: str, loc: list[Any] | None = None):
        super().__init__(message)
        self.loc = ["body", *(loc or [])]

    def body(self) -> dict[str, Any]:
        return {"detail": [{"loc": self.loc, "msg": self.message, "type": "value_error"}], "error": self.message}


class RequestInput(msgspec.Struct):
    name: str
    shape: list[int]
    datatype: str
    data: Any
    parameters: dict[str, Any] | None = None


class RequestOutput(msgspec.Struct):
    name: str
    parameters: dict[str, Any] | None = None


class InferenceRequest(msgspec.Struct):
    inputs: list[RequestInput]
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[RequestOutput] | None = None


_decoder = msgspec.json.Decoder(InferenceRequest)


def parse_request(body: bytes) -> InferenceRequest:
    """The typed request; a body that is not JSON or not an inference request names the field that is wrong."""
    try:
        request = _decoder.decode(body)
    except msgspec.ValidationError as e:
        raise V2RequestError(f"Invalid inference request: {e}") from None
    except msgspec.DecodeError as e:
        raise V2RequestError(f"Request body is not JSON: {e}") from None
    if not request.inputs:
        raise V2RequestError("'inputs' must hold at least one tensor.", ["inputs"])
    return request


def decode_tensor(tensor: RequestInput, index: int) -> Any:
    """The input as a numpy array of its shape (BYTES: a list of str when the data are strings, as KServe passes it)."""
    loc = ["inputs", index]
    dtype = NP_DTYPES.get(tensor.datatype)
    if dtype is None:
        raise V2RequestError(
            f"Input '{tensor.name}': unknown datatype {tensor.datatype!r}; expected one of {', '.join(NP_DTYPES)}.",
            [*loc, "datatype"],
        )
    if any(d < 0 for d in tensor.shape):
        raise V2RequestError(f"Input '{tensor.name}': shape {tensor.shape} has a negative dimension.", [*loc, "shape"])
    data = tensor.data
    if not isinstance(data, list):
        data = [data]
    try:
        array = np.array(data, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as e:
        raise V2RequestError(
            f"Input '{tensor.name}': data are not {tensor.datatype} values ({e}).", [*loc, "data"]
        ) from None
    expected = int(np.prod(tensor.shape)) if tensor.shape else 1
    if array.size != expected:
        raise V2RequestError(
            f"Input '{tensor.name}': shape {tensor.shape} needs {expected} elements, the data hold {array.size}.",
            [*loc, "data"],
        )
    if tensor.datatype == "BYTES" and array.size and isinstance(array.flat[0], str):
        if len(tensor.shape) <= 1:
            return list(array.reshape(-1))
    if tensor.datatype == "BF16":
        array = _round_to_bfloat16(array)
    return array.reshape(tensor.shape)


def _round_to_bfloat16(array: np.ndarray) -> np.ndarray:
    """float32 values rounded (to nearest even) to the 8 mantissa bits bfloat16 keeps."""
    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return rounded.view(np.float32)


def decode_inputs(request: InferenceRequest, declared: list[dict[str, Any]]) -> dict[str, Any]:
    """All inputs by name; when the model declares several named inputs, every one must be present."""
    decoded = {t.name: decode_tensor(t, i) for i, t in enumerate(request.inputs)}
    if len(declared) > 1:
        missing = [d["name"] for d in declared if d.get("name") not in decoded]
        if missing:
            raise V2RequestError(
                f"Missing inputs {missing}; the model takes {[d['name'] for d in declared]}.", ["inputs"]
            )
    return decoded


def model_input(request: InferenceRequest, decoded: dict[str, Any]) -> Any:
    """What the model is called with, as KServe builds it: the first input, or a DataFrame of all inputs when the
    request says ``content_type: pd`` or carries several inputs (one column each)."""
    content_type = (request.parameters or {}).get("content_type")
    if content_type == "pd" or len(decoded) > 1:
        import pandas as pd

        try:
            return pd.DataFrame({name: np.asarray(value).reshape(-1) for name, value in decoded.items()})
        except ValueError as e:
            raise V2RequestError(f"Inputs cannot form one table (content_type pd): {e}", ["inputs"]) from None
    return next(iter(decoded.values()))


def datatype_of(array: np.ndarray) -> str:
    if array.dtype.kind in _KIND_NAMES:
        return _KIND_NAMES[array.dtype.kind]
    name = array.dtype.name.upper().replace("FLOAT", "FP").replace("UINT", "UINT")
    return name if name in NP_DTYPES else "FP64"


def _output_tensor(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, list) and value and isinstance(value[0], str):
        return {"name": name, "shape": [len(value)], "datatype": "BYTES", "parameters": None, "data": value}
    array = np.asarray(value)
    if array.dtype.kind in "OUS":
        data = [v.decode() if isinstance(v, bytes) else str(v) for v in array.reshape(-1).tolist()]
        return {"name": name, "shape": list(array.shape), "datatype": "BYTES", "parameters": None, "data": data}
    datatype = datatype_of(array)
    if datatype == "FP64" and array.dtype.kind not in "f":
        array = array.astype(np.float64)
    data = array.reshape(-1).tolist()
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "parameters": None, "data": data}


def output_tensors(result: Any, declared: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The model's (or postprocess's) result as V2 output tensors: a dict or DataFrame gives one tensor per key/column,
    anything else one tensor named after the model's first declared output (KServe's "output-0" by default)."""
    if isinstance(result, dict):
        return [_output_tensor(str(k), v) for k, v in result.items()]
    if type(result).__name__ == "DataFrame":
        return [_output_tensor(str(col), result[col].to_numpy()) for col in result.columns]
    name = declared[0]["name"] if declared and declared[0].get("name") else "output-0"
    return [_output_tensor(name, result)]


def response(request: InferenceRequest, model: str, version: str, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """KServe's InferenceResponse as its server serializes it (``parameters`` null when there are none); ``outputs``
    requested by name select (and order) the tensors. ``model_version`` is the version that answered (KServe: null)."""
    if request.outputs:
        by_name = {o["name"]: o for o in outputs}
        selected = []
        for i, wanted in enumerate(request.outputs):
            if wanted.name not in by_name:
                raise V2RequestError(
                    f"Requested output '{wanted.name}' is not an output of model '{model}' (it has {sorted(by_name)}).",
                    ["outputs", i, "name"],
                )
            selected.append(by_name[wanted.name])
        outputs = selected
    return {
        "id": request.id or str(uuid.uuid4()),
        "model_name": model,
        "model_version": version,
        "outputs": outputs,
        "parameters": None,
    }
