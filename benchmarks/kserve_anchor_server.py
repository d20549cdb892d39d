"""KServe 0.21's own Python model server on a model directory holding model.joblib: the anchor the serving benchmark
and the recorded protocol fixtures compare with. Runs in the side environment that has kserve installed (never a
dependency of kale-ext):

    KSERVE_ANCHOR_PYTHON benchmarks/kserve_anchor_server.py --model_dir DIR --model_name m --http_port 8090

The model class is KServe's sklearnserver SKLearnModel (python/sklearnserver/sklearnserver/model.py in kserve/kserve),
minus its kserve_storage download step, which only copies remote URIs to a local folder: DIR is local. With
--not_ready_model NAME a second model is registered that never finishes loading, so that KServe's 503 can be recorded.
"""

from __future__ import annotations

import argparse
import os
import pathlib

import joblib
import uvicorn
from kserve import Model, ModelServer
from kserve.errors import InferenceError, ModelMissingError
from kserve.utils.utils import get_predict_input, get_predict_response

MODEL_EXTENSIONS = (".joblib", ".pkl", ".pickle")


class _LoopbackConfig(uvicorn.Config):
    """KServe's REST server hard-codes host 0.0.0.0; the anchor listens on loopback only."""

    def __init__(self, *args, **kwargs):
        kwargs["host"] = "127.0.0.1"
        super().__init__(*args, **kwargs)


uvicorn.Config = _LoopbackConfig  # kserve.protocol.rest.server reads uvicorn.Config when it builds the server


class SKLearnModel(Model):
    def __init__(self, name: str, model_dir: str):
        super().__init__(name)
        self.model_dir = model_dir
        self.ready = False

    def load(self) -> bool:
        path = pathlib.Path(self.model_dir)
        files = [path / f for f in os.listdir(path) if (path / f).is_file() and f.endswith(MODEL_EXTENSIONS)]
        if not files:
            raise ModelMissingError(path)
        self._model = joblib.load(files[0])
        self.ready = True
        return self.ready

    def predict(self, payload, headers=None):
        try:
            instances = get_predict_input(payload)
            return get_predict_response(payload, self._model.predict(instances), self.name)
        except Exception as e:
            raise InferenceError(str(e)) from e


class NeverReadyModel(Model):
    """Registered (KServe registers only ready models), then marked not ready: requests to it get KServe's 503."""

    def load(self) -> bool:
        self.ready = True
        return True

    def start(self) -> None:
        self.ready = False


def main() -> None:
    parser = argparse.ArgumentParser(description="KServe 0.21's model server on a model.joblib")
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--model_name", default="m")
    parser.add_argument("--http_port", type=int, default=8090)
    parser.add_argument("--extra_model", action="append", default=[], help="NAME=DIR, another model.joblib")
    parser.add_argument("--not_ready_model", default=None)
    args, _ = parser.parse_known_args()
    model = SKLearnModel(args.model_name, args.model_dir)
    model.load()
    models: list[Model] = [model]
    for spec in args.extra_model:
        name, _, path = spec.partition("=")
        models.append(SKLearnModel(name, path))
        models[-1].load()
    if args.not_ready_model:
        models.append(NeverReadyModel(args.not_ready_model))
        models[-1].load()
    ModelServer(http_port=args.http_port, enable_grpc=False, workers=1, enable_latency_logging=False).start(models)


if __name__ == "__main__":
    main()
