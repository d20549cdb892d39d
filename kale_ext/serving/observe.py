"""What the local model server reports, read back: its Prometheus metrics summarized per model and version, and the
recent lines of its request log (contract 2/3).

``summarize(text, log_lines)`` answers {name: {version: {"requests", "errors", "rate_per_s", "p50_ms", "p99_ms"}}}:
requests and errors (code >= 400) from ``kale_serving_requests_total``, quantiles from the
``kale_serving_request_duration_seconds`` histogram (interpolated inside the bucket, as Prometheus'
histogram_quantile), the rate from the request log's last minute. Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

REQUESTS = "kale_serving_requests_total"
DURATION_BUCKET = "kale_serving_request_duration_seconds_bucket"
RATE_WINDOW_S = 60.0
_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(metric, labels, value) of each sample line of Prometheus' text format."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        labels = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _LABEL.findall(m.group(2) or "")}
        out.append((m.group(1), labels, value))
    return out


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The q-quantile of a cumulative histogram [(upper bound, count)], or None without observations."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def summarize(text: str, log_lines: list[str], now: float | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    buckets: dict[tuple[str, str], dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for metric, labels, value in parse_samples(text):
        key = (labels.get("model", ""), labels.get("version", ""))
        if metric == REQUESTS:
            totals[key][0] += value
            if _code(labels.get("code")) >= 400:
                totals[key][1] += value
        elif metric == DURATION_BUCKET and "le" in labels:
            bound = math.inf if labels["le"] in ("+Inf", "Inf") else float(labels["le"])
            buckets[key][bound] += value  # summed over other labels (protocol), bucket by bucket
    rates = _rates(log_lines, time.time() if now is None else now)
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for key in sorted(set(totals) | set(buckets)):
        name, version = key
        if not name:
            continue
        hist = list(buckets[key].items()) if key in buckets else []
        p50, p99 = quantile(0.5, hist), quantile(0.99, hist)
        out[name][version] = {
            "requests": int(totals[key][0]),
            "errors": int(totals[key][1]),
            "rate_per_s": round(rates.get(key, 0) / RATE_WINDOW_S, 3),
            "p50_ms": None if p50 is None else round(p50 * 1000, 3),
            "p99_ms": None if p99 is None else round(p99 * 1000, 3),
        }
    return dict(out)


def _code(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _rates(lines: list[str], now: float) -> dict[tuple[str, str], int]:
    """Inference requests (predict, infer, explain: what the metrics count) per (model, version) in the last
    RATE_WINDOW_S seconds of the log (TIME MODEL VERSION PROTOCOL METHOD PATH STATUS LATENCY_MS)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or not parts[5].endswith((":predict", ":explain", "/infer")):
            continue
        stamp = log_time(parts[0])
        if stamp is not None and now - stamp <= RATE_WINDOW_S:
            counts[(parts[1], parts[2])] += 1
    return counts


def log_time(text: str) -> float | None:
    """A log line's TIME: epoch seconds or ISO 8601."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def tail(path: str, limit: int, max_bytes: int = 1 << 20) -> list[str]:
    """The last ``limit`` lines of a file (reading at most its last ``max_bytes``)."""
    if limit <= 0:
        return []
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return []
    lines = data.decode(errors="replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]  # the first line may be cut
    return [ln for ln in lines if ln.strip()][-limit:]
