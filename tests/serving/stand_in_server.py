"""A test-only stand-in for the model server (part serve-http's kale_ext.serving.server), honouring contracts 2 and 3
so that the ServingManager's lifecycle is tested against a real process over real HTTP before that part is merged.

`python stand_in_server.py --state STATE_JSON [--host H] [--port P] [other limits, ignored]`: loads every version of
state.json (kale-model.json + the model file, through kale_ext.serving.export.load_exported), reloads it on SIGHUP
and when its mtime changes, writes server.json once it listens, answers `GET /v2/models/NAME[/versions/VERSION]/ready`, `POST
/v1/models/NAME:predict` (the version chosen by a deterministic weighted round robin over the traffic), `GET
/metrics` (contract 3's names), and appends one line per request to requests.log. Nothing more: the protocols
themselves are part serve-http's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kale_ext.runners.local.identity import process_token
from kale_ext.serving.export import load_exported

BOUNDS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0)


class State:
    def __init__(self, path: str) -> None:
        self.path = path
        self.mtime = None
        self.models: dict = {}
        self.credit: dict = {}
        self.lock = threading.Lock()
        self.counts: dict = {}
        self.latency: dict = {}

    def reload(self) -> None:
        with open(self.path) as f:
            data = json.load(f)
        models = {}
        for name, entry in data["models"].items():
            versions = {v: load_exported(d["model_dir"]) for v, d in entry["versions"].items()}
            models[name] = {"versions": versions, "traffic": entry["traffic"]}
        with self.lock:
            self.models = models
            self.mtime = os.stat(self.path).st_mtime_ns

    def pick(self, name: str) -> str:
        """Smooth weighted round robin: deterministic, exact over every 100 requests."""
        with self.lock:
            traffic = self.models[name]["traffic"]
            credit = self.credit.setdefault(name, {})
            for v, pct in traffic.items():
                credit[v] = credit.get(v, 0) + pct
            best = max(traffic, key=lambda v: credit[v])
            credit[best] -= 100
            return best

    def observe(self, name: str, version: str, code: int, seconds: float) -> None:
        with self.lock:
            key = (name, version, str(code))
            self.counts[key] = self.counts.get(key, 0) + 1
            self.latency.setdefault((name, version), []).append(seconds)

    def metrics(self) -> str:
        lines = []
        with self.lock:
            for (name, version, code), n in sorted(self.counts.items()):
                labels = f'model="{name}",version="{version}",protocol="v1",code="{code}"'
                lines.append(f"kale_serving_requests_total{{{labels}}} {n}")
            for (name, version), values in sorted(self.latency.items()):
                for bound in (*BOUNDS, float("inf")):
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    n = sum(1 for s in values if s <= bound)
                    lines.append(
                        f'kale_serving_request_duration_seconds_bucket{{model="{name}",version="{version}",le="{le}"}} {n}'
                    )
        return "\n".join(lines) + "\n"


def handler_for(state: State, folder: str):
    log_path = os.path.join(folder, "requests.log")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def send(self, code: int, body: dict | str, kind: str = "application/json") -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/metrics":
                return self.send(200, state.metrics(), "text/plain; version=0.0.4")
            parts = self.path.strip("/").split("/")
            if len(parts) in (4, 6) and parts[:2] == ["v2", "models"] and parts[-1] == "ready":
                model = state.models.get(parts[2])
                if model is not None and (len(parts) == 4 or parts[4] in model["versions"]):
                    return self.send(200, {"name": parts[2], "ready": True})
                return self.send(404, {"error": f"Model with name {parts[2]} does not exist."})
            self.send(404, {"error": "not found"})

        def do_POST(self) -> None:
            t0 = time.perf_counter()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            name = self.path.removeprefix("/v1/models/").removesuffix(":predict")
            if name not in state.models:
                return self.send(404, {"error": f"Model with name {name} does not exist."})
            version = state.pick(name)
            model = state.models[name]["versions"][version]
            predictions = model.predict(json.loads(body)["instances"]).tolist()
            self.send(200, {"predictions": predictions})
            seconds = time.perf_counter() - t0
            state.observe(name, version, 200, seconds)
            with open(log_path, "a") as f:
                f.write(f"{time.time():.3f} {name} {version} v1 POST {self.path} 200 {seconds * 1000:.3f}\n")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args, _limits = parser.parse_known_args()
    folder = os.path.dirname(os.path.abspath(args.state))
    state = State(args.state)
    state.reload()
    wake = threading.Event()  # reloads happen on the watcher thread only: one at a time, never inside a handler
    signal.signal(signal.SIGHUP, lambda *_: wake.set())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer((args.host, args.port), handler_for(state, folder))
    host, port = server.server_address[:2]
    info = {
        "pid": os.getpid(),
        "token": process_token(os.getpid()),
        "host": host,
        "port": port,
        "url": f"http://{host}:{port}",
        "started": time.time(),
    }
    tmp = os.path.join(folder, f"server.json.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.replace(tmp, os.path.join(folder, "server.json"))

    def watch() -> None:
        while True:
            hup = wake.wait(0.2)
            wake.clear()
            try:
                if hup or os.stat(args.state).st_mtime_ns != state.mtime:
                    state.reload()
            except (OSError, ValueError):
                pass

    threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
