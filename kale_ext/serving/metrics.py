"""The server's Prometheus metrics (text exposition format 0.0.4), per model and version (contract 3).

``kale_serving_requests_total{model,version,protocol,code}``, ``kale_serving_request_duration_seconds`` (histogram,
per model and version) and ``kale_serving_batch_size`` (histogram, per model and version). Errors are the requests
counted with code >= 400. Plain counters updated on the event loop thread only, so no locks.
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

LATENCY_BUCKETS = (0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Histogram:
    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str, labels: str) -> list[str]:
        out, cumulative = [], 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            cumulative += n
            le = "+Inf" if bound == float("inf") else _number(bound)
            out.append(f'{name}_bucket{{{labels},le="{le}"}} {cumulative}')
        out.append(f"{name}_sum{{{labels}}} {_number(self.sum)}")
        out.append(f"{name}_count{{{labels}}} {self.count}")
        return out


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str, int], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], Histogram] = {}
        self.batches: dict[tuple[str, str], Histogram] = {}

    def observe_request(self, model: str, version: str, protocol: str, code: int, seconds: float) -> None:
        self.requests[(model, version, protocol, code)] += 1
        hist = self.latency.get((model, version))
        if hist is None:
            hist = self.latency[(model, version)] = Histogram(LATENCY_BUCKETS)
        hist.observe(seconds)

    def observe_batch(self, model: str, version: str, size: int) -> None:
        hist = self.batches.get((model, version))
        if hist is None:
            hist = self.batches[(model, version)] = Histogram(BATCH_BUCKETS)
        hist.observe(size)

    def render(self) -> str:
        lines = [
            "# HELP kale_serving_requests_total Inference requests answered, by model, version, protocol and code.",
            "# TYPE kale_serving_requests_total counter",
        ]
        for (model, version, protocol, code), n in sorted(self.requests.items()):
            labels = f'model="{_escape(model)}",version="{_escape(version)}",protocol="{protocol}",code="{code}"'
            lines.append(f"kale_serving_requests_total{{{labels}}} {n}")
        for name, help_text, table in (
            ("kale_serving_request_duration_seconds", "Time from request parsed to response written.", self.latency),
            ("kale_serving_batch_size", "Rows per predict call of the micro-batcher.", self.batches),
        ):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
            for (model, version), hist in sorted(table.items()):
                lines += hist.lines(name, f'model="{_escape(model)}",version="{_escape(version)}"')
        return "\n".join(lines) + "\n"
