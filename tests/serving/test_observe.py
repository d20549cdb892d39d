"""The server's metrics and request log read back: Prometheus text parsed, quantiles from the histogram, the rate."""

from __future__ import annotations

import pytest

from kale_ext.serving.observe import parse_samples, quantile, summarize, tail

TEXT = """# HELP kale_serving_requests_total Requests.
# TYPE kale_serving_requests_total counter
kale_serving_requests_total{model="m",version="1",protocol="v1",code="200"} 90
kale_serving_requests_total{model="m",version="1",protocol="v2",code="422"} 6
kale_serving_requests_total{model="m",version="1",protocol="v1",code="500"} 4
kale_serving_requests_total{model="m",version="2",protocol="v1",code="200"} 10
kale_serving_request_duration_seconds_bucket{model="m",version="1",le="0.001"} 50
kale_serving_request_duration_seconds_bucket{model="m",version="1",le="0.01"} 98
kale_serving_request_duration_seconds_bucket{model="m",version="1",le="+Inf"} 100
kale_serving_request_duration_seconds_sum{model="m",version="1"} 0.3
kale_serving_request_duration_seconds_count{model="m",version="1"} 100
kale_serving_batch_size_bucket{le="1"} 3
"""


def test_samples_with_labels_are_parsed():
    samples = parse_samples(TEXT)
    assert samples[0] == (
        "kale_serving_requests_total",
        {"model": "m", "version": "1", "protocol": "v1", "code": "200"},
        90.0,
    )
    assert parse_samples('x{a="q\\"uote"} 1\nbroken line\n') == [("x", {"a": 'q"uote'}, 1.0)]


def test_quantiles_interpolate_inside_the_bucket_as_prometheus_does():
    buckets = [(0.001, 50.0), (0.01, 98.0), (float("inf"), 100.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.001)
    assert quantile(0.75, buckets) == pytest.approx(0.001 + 0.009 * 25 / 48)
    assert quantile(0.99, buckets) == pytest.approx(0.01), "in the +Inf bucket: the highest finite bound"
    assert quantile(0.5, []) is None and quantile(0.5, [(1.0, 0.0)]) is None


def test_summary_per_model_and_version_with_the_last_minutes_rate():
    now = 1000.0
    log = [f"{now - 5:.3f} m 1 v1 POST /v1/models/m:predict 200 1.2"] * 30 + [
        f"{now - 120:.3f} m 1 v1 POST /v1/models/m:predict 200 1.2",
        "2026-12-01T22:00:00Z m 2 v1 POST /v1/models/m:predict 200 1.0",
    ]
    stats = summarize(TEXT, log, now=now)
    assert stats["m"]["1"] == {"requests": 100, "errors": 10, "rate_per_s": 0.5, "p50_ms": 1.0, "p99_ms": 10.0}
    assert stats["m"]["2"]["requests"] == 10 and stats["m"]["2"]["p50_ms"] is None


def test_tail_reads_the_last_lines(tmp_path):
    path = tmp_path / "requests.log"
    path.write_text("".join(f"line {i}\n" for i in range(1000)))
    assert tail(str(path), 2) == ["line 998", "line 999"]
    assert tail(str(path), 3, max_bytes=30) == ["line 997", "line 998", "line 999"]
    assert tail(str(tmp_path / "none"), 5) == []
