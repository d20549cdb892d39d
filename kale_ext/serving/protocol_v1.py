"""KServe's V1 protocol: ``{"instances": [...]}`` (or ``"inputs"``) in, ``{"predictions": [...]}`` out.

Instances become the model's input the way KServe's ``get_predict_input`` builds it: a list of dicts (named features)
is a DataFrame (columns in the model's feature order when it has one), a list of strings stays a list, anything else is
a numpy array. A body that is not JSON is a V1RequestError (400, KServe's "Unrecognized request format").
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

from ..errors import KaleError


class V1RequestError(KaleError):
    status = 400
    code = "v1.invalid"


_decoder = msgspec.json.Decoder()


def parse_instances(body: bytes) -> list[Any]:
    """The request's instances; KServe's error text for a body that is not JSON."""
    try:
        payload = _decoder.decode(body)
    except msgspec.DecodeError as e:
        raise V1RequestError(f"Unrecognized request format: {e}") from None
    if not isinstance(payload, dict):
        raise V1RequestError(f"Expected a JSON object with 'instances', found a JSON {type(payload).__name__}.")
    instances = payload.get("instances", payload.get("inputs"))
    if not isinstance(instances, list):
        raise V1RequestError(
            "Expected 'instances' (a list of instances) in the request body, "
            f"found {'nothing' if instances is None else type(instances).__name__}."
        )
    return instances


def model_input(instances: list[Any], feature_names: list[str] | None = None) -> Any:
    """KServe's get_predict_input for a V1 payload."""
    if not instances:
        return np.array(instances)
    first = instances[0]
    if isinstance(first, dict) or (isinstance(first, list) and first and isinstance(first[0], dict)):
        import pandas as pd

        rows = [r for inst in instances for r in (inst if isinstance(inst, list) else [inst])]
        frame = pd.DataFrame(rows)
        if feature_names:
            missing = [n for n in feature_names if n not in frame.columns]
            if missing:
                raise V1RequestError(f"Instances lack the features {missing}; the model takes {feature_names}.")
            frame = frame[feature_names]
        return frame
    if isinstance(first, str):
        return instances
    try:
        return np.array(instances)
    except ValueError as e:  # ragged rows
        raise V1RequestError(f"Instances do not form an array: {e}") from None


def predictions(result: Any) -> Any:
    """What ``predictions`` carries: arrays and frames as lists (a DataFrame as one dict per row, as KServe does)."""
    if isinstance(result, np.ndarray):
        return result.tolist()
    if type(result).__name__ == "DataFrame":
        return result.to_dict(orient="records")
    return result


def to_builtin(value: Any) -> Any:
    """msgspec's enc_hook: numpy scalars and arrays, pandas objects, sets."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"Cannot encode a {type(value).__name__} as JSON")
