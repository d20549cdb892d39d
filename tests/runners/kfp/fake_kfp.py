"""A loopback fake of the Kubeflow Pipelines v2beta1 REST API (stdlib http.server), for the real kfp.Client.

It records every request (method, path, query, the authorization header, the JSON or multipart body) and answers the
calls kfp.Client makes to submit and watch a run: healthz, experiments (list by display_name filter in a namespace,
create), pipelines (list by filter, upload, upload_version, list versions), runs (create, get, terminate). A run's
states are canned: each GET of a run advances it one snapshot of ``script`` (``[(RUN_STATE, {task: TASK_STATE})]``;
default: PENDING, then every step task RUNNING, then SUCCEEDED, then the run SUCCEEDED), so the CLI and the store see
a run progress. Faults: ``token`` (a request without ``Bearer <token>`` gets 401), ``namespaces`` (multi-user: a
namespace not listed gets 403), ``fail_status`` (every request answers it), ``stop()`` / ``start()`` on the same port
(the API going away and coming back), ``not_kfp`` (healthz answers an HTML page), ``garbled`` (a run's answer
kfp cannot parse).

``python -m tests.runners.kfp.fake_kfp --port N`` serves it in the foreground (the browser test uses it in a thread).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

PREFIX = "/apis/v2beta1"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class FakeKfp:
    def __init__(self, *, token: str | None = "secret-token", namespaces: list[str] | None = None) -> None:
        self.token = token
        self.namespaces = namespaces  # None: single-user
        self.requests: list[dict[str, Any]] = []
        self.experiments: list[dict[str, Any]] = []
        self.pipelines: list[dict[str, Any]] = []
        self.versions: list[dict[str, Any]] = []
        self.runs: dict[str, dict[str, Any]] = {}
        self.script: list[tuple[str, dict[str, str]]] | None = None
        self.fail_status: int | None = None
        self.not_kfp = False
        self.garbled = False  # runs answer a created_at that is not a date (kfp cannot read the answer)
        self.lock = threading.Lock()
        self.port = 0
        self.server: ThreadingHTTPServer | None = None

    # ---------------------------------------------------------------------------------------------------- lifecycle
    def start(self) -> FakeKfp:
        fake = self

        class Handler(self.handler_class):
            kfp = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calls(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r["method"] == method) and (path is None or r["path"] == path)
            ]

    # ------------------------------------------------------------------------------------------------------- runs
    def snapshots(self, run: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
        if self.script is not None:
            return self.script
        tasks = [t["taskInfo"]["name"] for t in run["ir"]["root"]["dag"]["tasks"].values()]
        return [
            ("PENDING", {}),
            ("RUNNING", dict.fromkeys(tasks, "RUNNING")),
            ("RUNNING", dict.fromkeys(tasks, "SUCCEEDED")),
            ("SUCCEEDED", dict.fromkeys(tasks, "SUCCEEDED")),
        ]

    def run_view(self, run: dict[str, Any], advance: bool) -> dict[str, Any]:
        snaps = self.snapshots(run)
        if run["terminated"]:
            state, tasks = (
                "CANCELED",
                {k: ("CANCELED" if v in ("RUNNING", "PENDING") else v) for k, v in run["tasks"].items()},
            )
        else:
            index = min(run["polls"], len(snaps) - 1)
            if advance:
                run["polls"] += 1
            state, tasks = snaps[index]
        run["tasks"] = dict(tasks)
        details = [
            {
                "run_id": run["run_id"],
                "task_id": f"{run['run_id']}-{name}",
                "display_name": name,
                "state": task_state,
                "start_time": run["created_at"],
                **({"end_time": _now()} if task_state not in ("RUNNING", "PENDING") else {}),
                **(
                    {"error": {"code": 2, "message": f"{name}: the pod exited with code 1"}}
                    if task_state == "FAILED"
                    else {}
                ),
            }
            for name, task_state in tasks.items()
        ]
        view = {
            "run_id": run["run_id"],
            "experiment_id": run["body"].get("experiment_id"),
            "display_name": run["body"].get("display_name"),
            "state": state,
            "created_at": "not a date" if self.garbled else run["created_at"],
            "run_details": {"task_details": details},
        }
        if state in ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"):
            view["finished_at"] = _now()
        if state == "FAILED":
            view["error"] = {"code": 2, "message": "a task failed"}
        return view


class _Handler(BaseHTTPRequestHandler):
    kfp: FakeKfp
    protocol_version = "HTTP/1.0"  # one connection per request: stop() then refuses the client's next request

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"code": {401: 16, 403: 7, 404: 5}.get(status, 13), "message": message, "details": []})

    def _record(self) -> dict[str, Any]:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        ctype = self.headers.get("Content-Type", "")
        if raw and ctype.startswith("application/json"):
            body = json.loads(raw)
        elif raw and ctype.startswith("multipart/form-data"):
            msg = BytesParser(policy=email_policy).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
            body = {
                part.get_param("name", header="content-disposition"): part.get_content() for part in msg.iter_parts()
            }
        entry = {
            "method": self.command,
            "path": url.path,
            "query": {k: v[0] for k, v in parse_qs(url.query).items()},
            "authorization": self.headers.get("Authorization"),
            "body": body,
        }
        with self.kfp.lock:
            self.kfp.requests.append(entry)
        return entry

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        req = self._record()
        kfp = self.kfp
        if kfp.fail_status:
            return self._error(kfp.fail_status, "injected fault")
        if kfp.token is not None and req["authorization"] != f"Bearer {kfp.token}":
            return self._error(401, "Unauthenticated: the request has no valid bearer token")
        body = req["body"] if isinstance(req["body"], dict) else {}
        ns = req["query"].get("namespace") or body.get("namespace")
        if kfp.namespaces is not None and ns and ns not in kfp.namespaces:
            return self._error(403, f"PermissionDenied: user is not authorized to access namespace {ns}")
        route = (req["method"], req["path"])
        with kfp.lock:
            answer = self._route(route, req)
        if answer is None:
            return self._error(404, f"no route {req['method']} {req['path']}")
        status, body = answer
        if isinstance(body, str):
            return self._send(status, body, "text/html")
        return self._send(status, body)

    def _route(self, route: tuple[str, str], req: dict[str, Any]) -> tuple[int, Any] | None:
        kfp, (method, path) = self.kfp, route
        if route == ("GET", f"{PREFIX}/healthz"):
            if kfp.not_kfp:
                return 200, "<html>not KFP</html>"
            return 200, {"commit_sha": "fake", "tag_name": "2.5.0", "multi_user": kfp.namespaces is not None}
        if route == ("GET", f"{PREFIX}/experiments"):
            name = _filter_name(req["query"].get("filter"))
            ns = req["query"].get("namespace") or ""
            found = [e for e in kfp.experiments if e["display_name"] == name and (not ns or e["namespace"] == ns)]
            return 200, ({"experiments": found, "total_size": len(found)} if found else {})
        if route == ("POST", f"{PREFIX}/experiments"):
            exp = {"experiment_id": uuid.uuid4().hex, **req["body"], "created_at": _now()}
            exp.setdefault("namespace", "")
            kfp.experiments.append(exp)
            return 200, exp
        if route == ("GET", f"{PREFIX}/pipelines"):
            name = _filter_name(req["query"].get("filter"))
            found = [p for p in kfp.pipelines if p["display_name"] == name]
            return 200, ({"pipelines": found, "total_size": len(found)} if found else {})
        if route == ("POST", f"{PREFIX}/pipelines/upload"):
            pipe = {"pipeline_id": uuid.uuid4().hex, "display_name": req["query"]["name"], "created_at": _now()}
            kfp.pipelines.append(pipe)
            self._version(pipe["pipeline_id"], req["query"]["name"], req)
            return 200, pipe
        if route == ("POST", f"{PREFIX}/pipelines/upload_version"):
            return 200, self._version(req["query"]["pipelineid"], req["query"]["name"], req)
        if method == "GET" and path.startswith(f"{PREFIX}/pipelines/") and path.endswith("/versions"):
            pid = path.split("/")[4]
            versions = sorted((v for v in kfp.versions if v["pipeline_id"] == pid), key=lambda v: -v["seq"])
            return 200, {"pipeline_versions": versions[: int(req["query"].get("page_size", 10))]}
        if route == ("POST", f"{PREFIX}/runs"):
            run_id = uuid.uuid4().hex
            spec = req["body"]["pipeline_spec"]
            ir = spec.get("pipeline_spec", spec)
            kfp.runs[run_id] = {
                "run_id": run_id,
                "body": req["body"],
                "ir": ir,
                "polls": 0,
                "terminated": False,
                "tasks": {},
                "created_at": _now(),
            }
            return 200, kfp.run_view(kfp.runs[run_id], advance=False)
        if path.startswith(f"{PREFIX}/runs/"):
            rest = path[len(f"{PREFIX}/runs/") :]
            if method == "POST" and rest.endswith(":terminate") and rest[: -len(":terminate")] in kfp.runs:
                kfp.runs[rest[: -len(":terminate")]]["terminated"] = True
                return 200, {}
            if method == "GET" and rest in kfp.runs:
                return 200, kfp.run_view(kfp.runs[rest], advance=True)
        return None

    def _version(self, pipeline_id: str, name: str, req: dict[str, Any]) -> dict[str, Any]:
        kfp = self.kfp
        package = (req["body"] or {}).get("uploadfile")
        text = package.decode() if isinstance(package, bytes) else package
        version = {
            "pipeline_id": pipeline_id,
            "pipeline_version_id": uuid.uuid4().hex,
            "display_name": name,
            "seq": len(kfp.versions),
            "ir": [d for d in yaml.safe_load_all(text or "") if d],
        }
        kfp.versions.append(version)
        return {k: v for k, v in version.items() if k not in ("seq", "ir")}


def _filter_name(text: str | None) -> str | None:
    if not text:
        return None
    predicates = json.loads(text).get("predicates", [])
    return next(
        (p.get("stringValue") or p.get("string_value") for p in predicates if p.get("key") == "display_name"), None
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="a loopback fake of the KFP v2beta1 API")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="secret-token")
    args = parser.parse_args()
    fake = FakeKfp(token=args.token)
    fake.port = args.port
    fake.start()
    print(fake.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()


FakeKfp.handler_class = _Handler  # subclasses (tests/tuning/katib_fake_kfp.py) answer more routes with their own
