"""Helpers of the Katib tests: a compiled small pipeline, the example's experiment, Katib's StdOut collector's parser,
and a loopback fake of the Kubernetes API for ConfigMaps, Experiments and Trials (records method, path, body)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from kale_ext.tuning.space import Algorithm, AutoML, ExperimentSpec, Objective, Parameter

from ..notebooks import write_notebook

# Katib's StdOut collector (pkg/metricscollector/v1beta1/file-metricscollector): lines that contain a metric's name are
# matched with the default filter; the first group is the name, the second the value.
DEFAULT_FILTER = re.compile(r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)")


def collect(text: str, metrics: list[str]) -> list[tuple[str, str]]:
    """What Katib's StdOut collector records from a trial container's output (stdout and stderr together)."""
    found = []
    for line in text.split("\n"):
        if not any(m in line for m in metrics):
            continue
        for match in DEFAULT_FILTER.finditer(line):
            name, value = match.group(1).strip(), match.group(2).strip()
            if name in metrics:
                found.append((name, value))
    return found


def small_notebook(path, own: dict[str, Any] | None = None) -> str:
    """load -> train -> evaluate; parameters RATE (float), ROUNDS (int), FAMILY (str); metrics score and loss.
    ``own``: the notebook's kale_ext settings."""
    metadata: dict[str, Any] = {"kubeflow_notebook": {"pipeline_name": "small-tune"}}
    if own is not None:
        metadata["kale_ext"] = own
    return write_notebook(
        path,
        (["imports"], "import math\n"),
        (["pipeline-parameters"], "RATE = 0.5\nROUNDS = 3\nFAMILY = 'lin'\n"),
        (["step:load"], "data = [1, 2, 3]\n"),
        (["step:train", "prev:load"], "model = sum(data) * RATE * ROUNDS * (2 if FAMILY == 'sq' else 1)\n"),
        (["step:evaluate", "prev:train"], "score = math.sqrt(model)\nloss = 1 / score\n"),
        (["pipeline-metrics"], "score\nloss\n"),
        metadata=metadata,
    )


def small_spec(**kw: Any) -> ExperimentSpec:
    defaults: dict[str, Any] = {
        "parameters": (Parameter("RATE", "double", "0.1", "2.0"), Parameter("ROUNDS", "int", "1", "9")),
        "objective": Objective("maximize", "score", 10.0, ("loss",)),
        "algorithm": Algorithm("random"),
        "parallel_trial_count": 2,
        "max_trial_count": 6,
        "max_failed_trial_count": 2,
    }
    return ExperimentSpec(**{**defaults, **kw})


def automl_spec() -> ExperimentSpec:
    families = {"lin": (Parameter("RATE", "double", "0.1", "2.0"),), "sq": (Parameter("ROUNDS", "int", "1", "9"),)}
    return small_spec(
        parameters=(Parameter("FAMILY", "categorical", values=("lin", "sq")),),
        automl=AutoML("FAMILY", families),
        max_trial_count=8,
    )


def compiled(notebook_path: str):
    from kale_ext.analysis import analyze
    from kale_ext.notebook import load_notebook, pipeline_name_for
    from kale_ext.runners.kfp.compiler import compile_pipeline

    nb = load_notebook(notebook_path)
    pipeline = analyze(nb, name=pipeline_name_for(notebook_path))
    return pipeline, compile_pipeline(pipeline, nb=nb)


TOKEN = "kube-secret-token"


class FakeKatibKube:
    """ConfigMaps (create, patch, delete), Experiments (create, get with ``status``), Trials (list by the experiment
    label, answering ``trials``). Refuses requests without ``Bearer TOKEN``; ``fail`` maps (method, kind) to a status."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.requests: list[dict[str, Any]] = []
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.status: dict[str, Any] = {}
        self.trials: list[dict[str, Any]] = []
        self.fail: dict[tuple[str, str], int] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urlparse(self.path)
                entry = {
                    "method": self.command,
                    "path": url.path,
                    "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                    "content_type": self.headers.get("Content-Type"),
                    "body": json.loads(raw) if raw else None,
                    "authorized": self.headers.get("Authorization") == f"Bearer {fake.token}",
                }
                fake.requests.append(entry)
                code, body = (401, _status(401, "Unauthorized")) if not entry["authorized"] else fake.route(entry)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, req: dict[str, Any]) -> tuple[int, Any]:
        parts = req["path"].strip("/").split("/")
        # /api/v1/namespaces/NS/configmaps[/NAME], /apis/kubeflow.org/v1beta1/namespaces/NS/KIND[/NAME]
        base = 3 if parts[0] == "api" else 4
        ns, kind = parts[base], parts[base + 1]
        name = parts[base + 2] if len(parts) > base + 2 else None
        if (req["method"], kind) in self.fail:
            code = self.fail[(req["method"], kind)]
            return code, _status(code, f"injected {code}")
        if kind == "trials":
            return 200, {"apiVersion": "kubeflow.org/v1beta1", "kind": "TrialList", "items": self.trials}
        if req["method"] == "POST":
            name = req["body"]["metadata"]["name"]
            if (ns, kind, name) in self.objects:
                return 409, _status(409, f'{kind} "{name}" already exists')
            obj = json.loads(json.dumps(req["body"]))
            obj["metadata"]["uid"] = f"uid-{kind}-{name}"
            obj["metadata"]["creationTimestamp"] = "2026-12-02T00:00:00Z"
            self.objects[(ns, kind, name)] = obj
            return 201, obj
        key = (ns, kind, name or "")
        if key not in self.objects:
            return 404, _status(404, f'{kind} "{name}" not found')
        if req["method"] == "PATCH":
            self.objects[key]["metadata"].update(req["body"]["metadata"])
            return 200, self.objects[key]
        if req["method"] == "DELETE":
            del self.objects[key]
            return 200, _status(200, "deleted")
        return 200, {**self.objects[key], "status": self.status}

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests if method is None or r["method"] == method]

    def kubeconfig(self, path) -> str:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "me", "user": {"token": self.token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "me", "namespace": "team-a"}}],
            "current-context": "fake",
        }
        path.write_text(json.dumps(config))
        return str(path)

    def __enter__(self) -> FakeKatibKube:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def _status(code: int, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}
