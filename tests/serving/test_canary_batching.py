"""Canary routing, micro-batching and isolation of slow models, measured over real HTTP."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from kale_ext.serving.router import Router

from .helpers import Client, Counting, Failing, Slow, model_dir


class Constant:
    def __init__(self, value):
        self.value = value

    def predict(self, x):
        return np.full(len(x), self.value)


def test_router_split_holds_in_every_window():
    router = Router({"1": 90, "2": 10})
    picks = [router.pick() for _ in range(3000)]
    for start in range(0, 2001, 7):
        share = picks[start : start + 1000].count("2") / 10
        assert abs(share - 10) <= 3, (start, share)
    assert Router({"1": 67, "2": 33}).primary() == "1" and Router({"3": 50, "2": 50}).primary() == "2"


def test_canary_split_over_http_version_routing_and_metrics(serve, tmp_path):
    stable = model_dir(str(tmp_path / "v1"), Constant(1), "pyfunc")
    canary = model_dir(str(tmp_path / "v2"), Constant(2), "pyfunc")
    _, client = serve({"m": {"versions": {"1": stable, "2": canary}, "traffic": {"1": 70, "2": 30}}})
    answers = []
    for _ in range(1000):
        status, body, _ = client.call("POST", "/v1/models/m:predict", {"instances": [[0]]})
        assert status == 200
        answers.append(body["predictions"][0])
    share = answers.count(2) / 10
    assert abs(share - 30) <= 3, share
    for window in (answers[:500], answers[500:]):
        assert abs(window.count(2) / 5 - 30) <= 3
    # V2 requests naming a version reach that version, whatever the split
    body = {"inputs": [{"name": "input-0", "shape": [1, 1], "datatype": "FP64", "data": [0]}]}
    for version, value in (("1", 1), ("2", 2)):
        for _ in range(5):
            status, answer, _ = client.call("POST", f"/v2/models/m/versions/{version}/infer", body)
            assert answer["model_version"] == version and answer["outputs"][0]["data"] == [value]
    status, text, _ = client.call("GET", "/metrics")
    counts = {
        v: int(n)
        for v, n in re.findall(
            r'kale_serving_requests_total\{model="m",version="(\d)",protocol="v1",code="200"\} (\d+)', text
        )
    }
    assert counts == {"1": answers.count(1), "2": answers.count(2)}
    assert f'kale_serving_request_duration_seconds_count{{model="m",version="2"}} {answers.count(2) + 5}' in text
    assert 'kale_serving_batch_size_bucket{model="m",version="1",le="+Inf"}' in text


def test_errors_are_counted_per_version(serve, tmp_path):
    d = model_dir(str(tmp_path / "f"), Failing(), "pyfunc")
    _, client = serve({"f": {"versions": {"3": d}}})
    client.call("POST", "/v1/models/f:predict", {"instances": [[-1]]})
    client.call("POST", "/v1/models/f:predict", raw=b"nope")
    client.call("POST", "/v1/models/f:predict", {"instances": [[1]]})
    text = client.call("GET", "/metrics")[1]
    for code in (500, 400, 200):
        assert f'kale_serving_requests_total{{model="f",version="3",protocol="v1",code="{code}"}} 1' in text


def test_concurrent_requests_are_batched_and_each_answer_is_its_own(serve, tmp_path):
    calls = tmp_path / "calls.txt"
    d = model_dir(str(tmp_path / "c"), Counting(str(calls)), "pyfunc")
    server, _ = serve({"c": {"versions": {"1": d}}}, max_batch_size=16, max_batch_wait_ms=5)

    def one(i):
        client = Client(server.port)
        try:
            return i, client.call("POST", "/v1/models/c:predict", {"instances": [[i, 1], [i, 2]]})
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(one, range(48)))
    for i, (status, body, _) in results:
        assert (status, body) == (200, {"predictions": [i + 1, i + 2]})
    sizes = [int(line) for line in calls.read_text().split()]
    assert sum(sizes) == 96 and max(sizes) <= 16
    assert len(sizes) < 48 / 2, sizes  # far fewer predict calls than requests


def test_a_failing_request_in_a_batch_fails_alone(serve, tmp_path):
    d = model_dir(str(tmp_path / "f"), Failing(), "pyfunc")
    server, _ = serve({"f": {"versions": {"1": d}}}, max_batch_wait_ms=20)

    def one(i):
        client = Client(server.port)
        try:
            return client.call("POST", "/v1/models/f:predict", {"instances": [[-1 if i == 5 else i]]})[:2]
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(one, range(12)))
    for i, answer in enumerate(results):
        expected = (500, {"error": "negative inputs are not allowed"}) if i == 5 else (200, {"predictions": [i]})
        assert answer == expected


def test_a_slow_model_does_not_block_another(serve, tmp_path, iris_dir):
    slow = model_dir(str(tmp_path / "slow"), Slow(1.5), "pyfunc")
    server, client = serve({"slow": {"versions": {"1": slow}}, "iris": {"versions": {"1": iris_dir}}})
    done = threading.Event()

    def call_slow():
        c = Client(server.port)
        c.call("POST", "/v1/models/slow:predict", {"instances": [[1]]})
        c.close()
        done.set()

    t = threading.Thread(target=call_slow)
    t.start()
    time.sleep(0.1)
    started = time.monotonic()
    for _ in range(20):
        assert client.call("POST", "/v1/models/iris:predict", {"instances": [[5.1, 3.5, 1.4, 0.2]]})[0] == 200
        assert client.call("GET", "/v2/health/live")[0] == 200
    assert time.monotonic() - started < 1.0 and not done.is_set()
    t.join(10)
    assert done.is_set()
