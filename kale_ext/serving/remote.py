"""The predictor of a KServe transformer: the model lives in another server (KServe's predictor component, reached at
``--predictor_host``); this one runs the notebook's preprocess/postprocess around it, as a KServe transformer does.

``remote_predictor(host, name, protocol)`` is a ``predict(x)`` that sends the preprocessed rows to the predictor in
its protocol (V1 ``:predict`` with ``instances``; V2 ``/infer`` with one FP64 or INT64 tensor) and returns its
predictions as an array. Standard library and numpy only; must not import tornado or jupyter_server.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

TIMEOUT_S = 60.0


class PredictorError(Exception):
    """The predictor answered an error or could not be reached (the transformer answers it as a model error)."""


def remote_predictor(host: str, name: str, protocol: str = "v1") -> Callable[[Any], Any]:
    base = host if host.startswith(("http://", "https://")) else f"http://{host}"
    v2 = protocol.lower().startswith("v2")
    url = f"{base}/v2/models/{name}/infer" if v2 else f"{base}/v1/models/{name}:predict"

    def predict(x: Any) -> Any:
        import numpy as np

        rows = np.asarray(x)
        if v2:
            datatype = "INT64" if rows.dtype.kind in "iub" else "FP64"
            data = rows.astype("int64" if datatype == "INT64" else "float64")
            body = {"inputs": [{"name": "input-0", "shape": list(data.shape), "datatype": datatype,
                                "data": data.ravel().tolist()}]}  # fmt: skip
        else:
            body = {"instances": rows.tolist()}
        answer = _post(url, body)
        if v2:
            out = answer["outputs"][0]
            return np.asarray(out["data"]).reshape(out["shape"])
        return np.asarray(answer["predictions"])

    return predict


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")[:500]
        raise PredictorError(f"the predictor at {url} answered {e.code}: {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise PredictorError(f"the predictor at {url} cannot be reached: {e}") from None
