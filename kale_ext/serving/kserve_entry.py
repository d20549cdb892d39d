"""The container entry point of a kale-ext InferenceService component (see kserve.py): KServe's conventions in,
kale-ext's server (contract 3, ``kale_ext.serving.server.serve``) out.

    python -m kale_ext.serving.kserve_entry --model_name NAME --model_dir /mnt/models --http_port 8080
    python -m kale_ext.serving.kserve_entry --transformer --model_dir /mnt/models \\
        [--model_name NAME --predictor_host HOST --http_port 8080]   # the last three appended by KServe's controller

KServe's storage initializer has put the model directory at /mnt/models; the entry point writes a one-model serving
state (version "1" taking all traffic) in a private temporary folder and serves it. As a transformer, the model
directory's transformer.py runs around the predictor at ``--predictor_host`` (the predictor's in-cluster service,
given by KServe's controller), in the protocol named by ``--protocol`` or KServe's ``PROTOCOL`` environment variable;
the server receives them as ``serve(..., predictor_host=HOST, protocol=PROTOCOL)``.

In a pod the server listens on every interface (``--host`` 0.0.0.0 by default): in KServe's RawDeployment mode the
Service reaches the container at the pod's address. Run locally, pass ``--host 127.0.0.1``.
Must not import tornado or jupyter_server itself (the server module it calls decides what it needs).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m kale_ext.serving.kserve_entry", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--model_name", default=os.environ.get("MODEL_NAME", "model"))
    parser.add_argument("--model_dir", default="/mnt/models")
    parser.add_argument("--http_port", type=int, default=8080)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--transformer", action="store_true", help="run transformer.py around --predictor_host")
    parser.add_argument("--predictor_host", default=None)
    parser.add_argument("--protocol", default=os.environ.get("PROTOCOL", "v1"))
    args, _unknown = parser.parse_known_args(argv)  # KServe may append flags (--workers) that do not concern us
    return args


def write_state(folder: Path, name: str, model_dir: str) -> Path:
    """The serving state of contract 2 with one model: {"models": {NAME: {"versions": {"1": ...}, "traffic": ...}}}."""
    state = folder / "serving" / "state.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    entry = {"versions": {"1": {"model_dir": str(Path(model_dir).resolve())}}, "traffic": {"1": 100}}
    state.write_text(json.dumps({"models": {name: entry}}))
    return state


def main(argv: list[str] | None = None, serve: Callable[..., Any] | None = None) -> int:
    args = parse(argv)
    if not (Path(args.model_dir) / "kale-model.json").is_file():
        print(f"kale-ext: {args.model_dir} is not a kale-ext model directory (no kale-model.json)", file=sys.stderr)
        return 2
    if serve is None:
        serve = importlib.import_module("kale_ext.serving.server").serve  # part serve-http (contract 3)
    extra: dict[str, Any] = {}
    if args.transformer:
        if not args.predictor_host:
            print("kale-ext: a transformer needs --predictor_host (KServe's controller appends it)", file=sys.stderr)
            return 2
        extra = {"predictor_host": args.predictor_host, "protocol": args.protocol}
    with tempfile.TemporaryDirectory(prefix="kale-serving-") as tmp:
        state = write_state(Path(tmp), args.model_name, args.model_dir)
        serve(str(state), args.host, args.http_port, **extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
