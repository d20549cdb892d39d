"""A loopback fake of the Kubernetes API server for InferenceServices: records every request (method, path, content
type, body) and answers from an in-memory store; each GET after a create/patch walks through canned statuses (not ready,
then ready with a URL). It refuses any request without the expected bearer token, and never logs headers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/apis/serving.kserve.io/v1beta1/namespaces/"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


class FakeKube:
    def __init__(self, token: str, statuses: list[dict[str, Any]]) -> None:
        self.token, self.statuses = token, statuses
        self.requests: list[dict[str, Any]] = []
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self._gets = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # silence: never print requests
                pass

            def _answer(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "body": body,
                        "authorized": self.headers.get("Authorization") == f"Bearer {fake.token}",
                    }
                )
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._answer(
                        401, {"kind": "Status", "status": "Failure", "message": "Unauthorized", "code": 401}
                    )
                code, answer = fake.route(self.command, self.path.split("?")[0], body)
                self._answer(code, answer)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def route(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        if not path.startswith(PREFIX):
            return 404, {"kind": "Status", "message": f"no route {path}", "code": 404}
        parts = path[len(PREFIX) :].split("/")  # NS, inferenceservices[, NAME]
        ns, name = parts[0], (parts[2] if len(parts) > 2 else body["metadata"]["name"])
        key = (ns, name)
        if method == "POST":
            if key in self.objects:
                return 409, {"kind": "Status", "message": f'inferenceservices "{name}" already exists', "code": 409}
            self.objects[key], self._gets = body, 0
            return 201, body
        if key not in self.objects:
            return 404, {"kind": "Status", "message": f'inferenceservices "{name}" not found', "code": 404}
        if method == "PATCH":
            self.objects[key], self._gets = merge_patch(self.objects[key], body), 0
            return 200, self.objects[key]
        status = self.statuses[min(self._gets, len(self.statuses) - 1)]
        self._gets += 1
        return 200, {**self.objects[key], "status": status}

    def __enter__(self) -> FakeKube:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
