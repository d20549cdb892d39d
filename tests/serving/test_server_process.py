"""The server as its own process (``python -m kale_ext.serving.server``): server.json, state reload on SIGHUP and on
mtime change without dropping in-flight requests, requests.log, the 413 body limit, a clean SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from kale_ext.runners.local.identity import process_token

from .helpers import Client, Slow, model_dir, wait_for, write_state

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def process(tmp_path):
    procs = []

    def start(models, *extra):
        state = str(tmp_path / "serving" / "state.json")
        write_state(state, models)
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": REPO}
        cmd = [sys.executable, "-m", "kale_ext.serving.server", "--state", state, "--port", str(port), *extra]
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        info = tmp_path / "serving" / "server.json"
        assert wait_for(info.exists, 60), proc.stderr.read() if proc.poll() is not None else "no server.json"
        return proc, state, json.loads(info.read_text())

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def test_server_json_reload_log_and_clean_stop(process, tmp_path, logreg):
    iris = model_dir(str(tmp_path / "iris"), logreg)
    slow = model_dir(str(tmp_path / "slow"), Slow(1.0), "pyfunc")
    proc, state, info = process({"iris": {"versions": {"1": iris}}, "slow": {"versions": {"1": slow}}})
    assert info["pid"] == proc.pid and info["token"] == process_token(proc.pid)
    assert info["host"] == "127.0.0.1" and info["url"] == f"http://127.0.0.1:{info['port']}" and info["started"]
    client = Client(info["port"])
    assert client.call("GET", "/v1/models")[1] == {"models": ["iris", "slow"]}

    in_flight = {}

    def slow_call():
        c = Client(info["port"])
        in_flight["answer"] = c.call("POST", "/v1/models/slow:predict", {"instances": [[1]]})[:2]
        c.close()

    t = threading.Thread(target=slow_call)
    t.start()
    time.sleep(0.3)
    # SIGHUP: a second model appears, the slow request already routed still gets its answer
    write_state(
        state, {"iris": {"versions": {"1": iris}}, "slow": {"versions": {"1": slow}}, "b": {"versions": {"1": iris}}}
    )
    os.utime(state, ns=(0, 0))  # an old mtime, so only the signal can trigger this reload
    proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "b" in client.call("GET", "/v1/models")[1]["models"], 10)
    t.join(10)
    assert in_flight["answer"] == (200, {"predictions": [0.0]})
    # mtime change alone: the model list follows state.json within a second or so
    write_state(state, {"c": {"versions": {"1": iris}}})
    assert wait_for(lambda: client.call("GET", "/v1/models")[1] == {"models": ["c"]}, 10)
    assert client.call("POST", "/v1/models/c:predict", {"instances": [[5.1, 3.5, 1.4, 0.2]]})[:2] == (
        200,
        {"predictions": [0]},
    )
    assert client.call("POST", "/v1/models/iris:predict", {"instances": [[1, 2, 3, 4]]})[0] == 404
    # an unreadable state keeps the models served before
    with open(state, "w") as f:
        f.write("{broken")
    time.sleep(1.2)
    assert client.call("GET", "/v1/models")[1] == {"models": ["c"]}

    log = tmp_path / "serving" / "requests.log"
    assert wait_for(lambda: log.exists() and "/v1/models/c:predict" in log.read_text(), 5)
    fields = [line.split() for line in log.read_text().splitlines()]
    assert all(len(f) == 8 for f in fields)
    assert any(f[1:7] == ["c", "1", "v1", "POST", "/v1/models/c:predict", "200"] for f in fields)
    assert any(f[1:3] == ["slow", "1"] and f[6] == "200" and float(f[7]) >= 900 for f in fields)
    assert any(f[1] == "iris" and f[6] == "404" for f in fields)
    client.close()
    # SIGTERM with a request in flight: it is answered before the process exits
    write_state(state, {"slow": {"versions": {"1": slow}}})
    assert wait_for(lambda: Client(info["port"]).call("GET", "/v1/models")[1] == {"models": ["slow"]}, 10)
    in_flight.clear()
    t = threading.Thread(target=slow_call)
    t.start()
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    t.join(10)
    assert in_flight["answer"] == (200, {"predictions": [0.0]})
    assert proc.wait(10) == 0
    assert not (tmp_path / "serving" / "server.json").exists()


def test_body_limit_is_413_and_the_server_keeps_serving(process, tmp_path, logreg):
    iris = model_dir(str(tmp_path / "iris"), logreg)
    proc, _, info = process({"iris": {"versions": {"1": iris}}}, "--max-body-bytes", "1000")
    client = Client(info["port"])
    big = {"instances": [[5.1, 3.5, 1.4, 0.2]] * 100}
    status, body, headers = client.call("POST", "/v1/models/iris:predict", big)
    assert status == 413 and "1000 bytes" in body["error"] and headers.get("connection") == "close"
    # a chunked body with no length declared is cut off as it streams
    with socket.create_connection(("127.0.0.1", info["port"])) as s:
        s.sendall(b"POST /v1/models/iris:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):
            s.sendall(b"200\r\n" + b" " * 512 + b"\r\n")
        assert s.recv(200).startswith(b"HTTP/1.1 413")
    client = Client(info["port"])
    assert client.call("POST", "/v1/models/iris:predict", {"instances": [[5.1, 3.5, 1.4, 0.2]]})[0] == 200
    with socket.create_connection(("127.0.0.1", info["port"])) as s:
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert s.recv(200).startswith(b"HTTP/1.1 400")
    assert client.call("GET", "/v2/health/live")[0] == 200


def test_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        state = str(tmp_path / "state.json")
        write_state(state, {})
        env = {**os.environ, "PYTHONPATH": REPO}
        cmd = [sys.executable, "-m", "kale_ext.serving.server", "--state", state, "--port", str(port)]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_keep_alive_pipelining_expect_continue_and_large_bodies(process, tmp_path, logreg):
    iris = model_dir(str(tmp_path / "iris"), logreg)
    _, _, info = process({"iris": {"versions": {"1": iris}}})
    body = b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
    request = b"POST /v1/models/iris:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    with socket.create_connection(("127.0.0.1", info["port"])) as s:
        s.sendall(request + b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")  # two requests pipelined
        data = b""
        while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b'{"live":true}'):
            chunk = s.recv(4096)
            assert chunk
            data += chunk
        assert data.index(b'{"predictions":[0]}') < data.index(b'{"live":true}')
        # Expect: 100-continue is answered before the body is sent
        s.sendall(
            b"POST /v1/models/iris:predict HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
            % len(body)
        )
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue")
        s.sendall(body)
        assert b'{"predictions":[0]}' in s.recv(4096)
    client = Client(info["port"])
    rows = [[5.1, 3.5, 1.4, 0.2]] * 20000  # a body over the off-loop threshold: decoded in the thread pool
    status, answer, _ = client.call("POST", "/v1/models/iris:predict", {"instances": rows})
    assert status == 200 and answer["predictions"] == [0] * 20000
    tensor = {"name": "input-0", "shape": [20000, 4], "datatype": "FP64", "data": [v for r in rows for v in r]}
    status, answer, _ = client.call("POST", "/v2/models/iris/infer", {"inputs": [tensor]})
    assert status == 200 and answer["outputs"][0]["shape"] == [20000]


def test_requests_log_rotates(tmp_path, monkeypatch, logreg):
    from kale_ext.serving import server as server_module
    from kale_ext.serving.endpoints import Response

    monkeypatch.setattr(server_module, "LOG_ROTATE_BYTES", 200)
    state = str(tmp_path / "serving" / "state.json")
    write_state(state, {})
    srv = server_module.InferenceServer(state, port=0)
    for _ in range(3):
        for _ in range(4):
            srv._observe(
                "POST", "/v1/models/m:predict", Response(200, b"", model="m", version="1", protocol="v1"), 0.001
            )
        srv._flush_log()
    log = tmp_path / "serving" / "requests.log"
    assert (tmp_path / "serving" / "requests.log.1").exists()
    assert 0 < len(log.read_text().splitlines()) <= 8
