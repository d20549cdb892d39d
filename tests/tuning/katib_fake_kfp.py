"""The loopback fake KFP API (tests/runners/kfp/fake_kfp.py) with what a Katib trial reads after its run: each task's
outputs (artifact ids) once the run has succeeded, ``GET /apis/v2beta1/artifacts/{id}?view=DOWNLOAD`` answering a
download URL, and that URL serving the Metrics artifact's file (the JSON the step entry writes), as an object store's
signed URL would (no bearer token needed; the request is recorded with its authorization header)."""

from __future__ import annotations

import json
from typing import Any

from ..runners.kfp.fake_kfp import PREFIX, FakeKfp, _Handler

BLOBS = "/blobs/"


class MetricsKfp(FakeKfp):
    def __init__(self, *, metrics: dict[str, float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics  # what the metrics step logged
        self.blobs: dict[str, bytes] = {}
        self.blobs_broken = False  # the object store answers 403 (an expired or refused signed URL)

    def run_view(self, run: dict[str, Any], advance: bool) -> dict[str, Any]:
        view = super().run_view(run, advance)
        if view["state"] != "SUCCEEDED":
            return view
        ir = run["ir"]
        for task in view["run_details"]["task_details"]:
            comp = _component_of(ir, task["display_name"])
            outputs = ((comp.get("outputDefinitions") or {}).get("artifacts")) or {}
            task["outputs"] = {}
            for key, art in outputs.items():
                artifact_id = f"{task['task_id']}-{key}"
                task["outputs"][key] = {"artifact_ids": [artifact_id]}
                if art["artifactType"]["schemaTitle"] == "system.Metrics":
                    self.blobs[artifact_id] = json.dumps(self.metrics).encode()
        return view


def _component_of(ir: dict[str, Any], task_name: str) -> dict[str, Any]:
    for task in ir["root"]["dag"]["tasks"].values():
        if task["taskInfo"]["name"] == task_name:
            return ir["components"][task["componentRef"]["name"]]
    return {}


class _MetricsHandler(_Handler):
    kfp: MetricsKfp

    def do_GET(self) -> None:
        if self.path.startswith(BLOBS):  # the object store behind a signed URL: no KFP token
            req = self._record()
            if self.kfp.blobs_broken:
                return self._error(403, "SignatureDoesNotMatch")
            blob = self.kfp.blobs.get(req["path"][len(BLOBS) :])
            return self._send(200, blob.decode()) if blob is not None else self._error(404, "no such object")
        self._dispatch()

    def _route(self, route: tuple[str, str], req: dict[str, Any]) -> tuple[int, Any] | None:
        method, path = route
        if method == "GET" and path.startswith(f"{PREFIX}/artifacts/"):
            artifact_id = path[len(f"{PREFIX}/artifacts/") :]
            answer: dict[str, Any] = {"artifact_id": artifact_id, "artifact_type": "system.Dataset"}
            if artifact_id in self.kfp.blobs:
                answer["artifact_type"] = "system.Metrics"
                if req["query"].get("view") == "DOWNLOAD":
                    answer["download_url"] = f"{self.kfp.url}{BLOBS}{artifact_id}"
            return 200, answer
        return super()._route(route, req)


MetricsKfp.handler_class = _MetricsHandler
