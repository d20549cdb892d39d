"""Serving benchmark: KServe 0.21's Python model server and kale-ext's, one after the other, on the same model.joblib
(a one-row-friendly iris LogisticRegression), each pinned to core 0 with Debian's wrk on core 1 (not a test).

    .venv/bin/python benchmarks/bench_serving.py [--quick] [--only kserve|ours] [--json OUT]
    KSERVE_ANCHOR_PYTHON=/work/anchors/kserve/bin/python .venv/bin/python benchmarks/bench_serving.py

KServe runs from KSERVE_ANCHOR_PYTHON (a side environment with kserve==0.21.0 and scikit-learn; never a dependency of
kale-ext) through benchmarks/kserve_anchor_server.py (KServe's SKLearnModel in its ModelServer). Ours is ``python -m
kale_ext.serving.server`` (contract 3); it is skipped, with a note, when that module is not installed. For every cell
(V1 ``:predict`` and V2 ``/infer``, one row; 1, 8 and 64 connections; 20 s, 5 s with --quick):
``taskset -c 1 wrk -t1 -cN -dDs --latency -s post.lua URL``. Printed: requests/s, p50 and p99 side by side with
the ratio, errors (wrk's non-2xx responses and socket errors) and the server's CPU per request (from /proc).
Targets (issue 10): at 8 and 64 connections at least 2x KServe's requests/s with a lower p99 on both protocols; at 1
connection a lower p50; 64 connections for 20 s with 0 errors. Loopback only; every wrk run is bounded by -d.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "serving"))

from models import train_models  # noqa: E402

ROW = [5.1, 3.5, 1.4, 0.2]
BODIES = {
    "v1": ("/v1/models/m:predict", {"instances": [ROW]}),
    "v2": ("/v2/models/m/infer", {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": ROW}]}),
}
CONNECTIONS = (1, 8, 64)
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def start(args: list[str], base: str, log: Path) -> subprocess.Popen:
    out = log.open("wb")
    proc = subprocess.Popen(["taskset", "-c", "0", *args], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{args[0]} exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(base + "/v2/health/ready", timeout=1):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"the server did not get ready in 90 s; see {log}")


def check_answer(base: str, protocol: str) -> None:
    """One request before the load: the server answers the benchmark's body with a 200 and a prediction."""
    path, body = BODIES[protocol]
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer = json.loads(resp.read())
    assert "predictions" in answer or "outputs" in answer, answer


def parse_wrk(text: str) -> dict:
    def ms(value: str) -> float:
        m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
        assert m, value
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    pct = {p: ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M)}
    total = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", text)) else 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    socket_errors = sum(int(x) for x in sock.groups()) if sock else 0
    return {"rps": rps, "p50_ms": pct["50"], "p99_ms": pct["99"], "requests": total, "errors": non2xx + socket_errors}


def load(base: str, protocol: str, conns: int, seconds: int, tmp: Path, pid: int) -> dict:
    path, body = BODIES[protocol]
    script = tmp / f"post-{protocol}.lua"
    script.write_text(LUA.format(body=json.dumps(json.dumps(body))))
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script)]
    cpu0 = cpu_seconds(pid)
    done = subprocess.run([*cmd, base + path], capture_output=True, text=True, timeout=seconds + 60, check=True)
    result = parse_wrk(done.stdout)
    result["cpu_ms_per_request"] = (cpu_seconds(pid) - cpu0) * 1e3 / max(result["requests"], 1)
    return result


def run_server(label: str, args: list[str], base: str, seconds: int, tmp: Path) -> dict:
    print(f"\n{label}: {' '.join(args[:3])} ...", flush=True)
    proc = start(args, base, tmp / f"{label}.log")
    results = {}
    try:
        for protocol in BODIES:
            check_answer(base, protocol)
            for conns in CONNECTIONS:
                r = load(base, protocol, conns, seconds, tmp, proc.pid)
                results[f"{protocol}/{conns}"] = r
                print(
                    f"  {protocol} c={conns:<3} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms"
                    f"  errors {r['errors']}  cpu {r['cpu_ms_per_request']:.2f} ms/req",
                    flush=True,
                )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return results


def table(kserve: dict, ours: dict) -> None:
    print("\n(latencies in ms; cpu = server CPU ms per request, steadier than req/s on a loaded machine)")
    head = f"{'req/s':>7} {'p50':>7} {'p99':>8} {'err':>4} {'cpu':>5}"
    print(f"proto conns | KServe {head} | ours {head} | ratio req/s  target")
    for key in (f"{p}/{c}" for p in BODIES for c in CONNECTIONS):
        k, o = kserve.get(key), ours.get(key)
        cols = []
        for r in (k, o):
            cols.append(
                f"{r['rps']:7.0f} {r['p50_ms']:7.2f} {r['p99_ms']:8.2f} {r['errors']:4d} {r['cpu_ms_per_request']:5.2f}"
                if r
                else f"{'-':>7} {'-':>7} {'-':>8} {'-':>4} {'-':>5}"
            )
        ratio, verdict = "-", ""
        if k and o:
            ratio = f"{o['rps'] / k['rps']:.2f}x"
            conns = int(key.split("/")[1])
            if conns == 1:
                ok = o["p50_ms"] < k["p50_ms"]
                verdict = "p50 lower" if ok else "MISSED: p50 not lower"
            else:
                ok = o["rps"] >= 2 * k["rps"] and o["p99_ms"] < k["p99_ms"]
                verdict = ">=2x, p99 lower" if ok else "MISSED: <2x or p99 not lower"
            if conns == 64 and o["errors"]:
                verdict += f"; {o['errors']} errors"
        proto, conns = key.split("/")
        print(f"{proto:5} {conns:>5} |       {cols[0]} |     {cols[1]} | {ratio:>11}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s per cell instead of 20 s")
    parser.add_argument("--only", choices=("kserve", "ours"))
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk; scripts/test.sh installs it)")
    seconds = 5 if args.quick else 20
    anchor = os.environ.get("KSERVE_ANCHOR_PYTHON")
    import importlib.util

    have_ours = importlib.util.find_spec("kale_ext.serving.server") is not None
    figures: dict[str, dict] = {"kserve": {}, "ours": {}}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        model = train_models(tmp / "models")["m"]
        import sklearn

        info = {
            "kind": "sklearn", "file": "model.joblib", "format": {"name": "sklearn", "version": sklearn.__version__},
            "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
            "outputs": [{"name": "output-0", "datatype": "INT64", "shape": [-1]}],
            "feature_names": None, "transformer": None, "explainer": None, "source": None,
        }  # fmt: skip
        (model / "kale-model.json").write_text(json.dumps(info))
        if args.only != "ours":
            if anchor:
                port = free_port()
                cmd = [anchor, str(HERE / "kserve_anchor_server.py"), "--model_dir", str(model), "--model_name", "m"]
                figures["kserve"] = run_server(
                    "kserve", [*cmd, "--http_port", str(port)], f"http://127.0.0.1:{port}", seconds, tmp
                )
            else:
                print("note: KSERVE_ANCHOR_PYTHON is not set; KServe's server is not measured")
        if args.only != "kserve":
            if have_ours:
                state = tmp / "serving" / "state.json"
                state.parent.mkdir()
                entry = {"versions": {"1": {"model_dir": str(model)}}, "traffic": {"1": 100}}
                state.write_text(json.dumps({"models": {"m": entry}}))
                port = free_port()
                cmd = [sys.executable, "-m", "kale_ext.serving.server", "--state", str(state), "--host", "127.0.0.1"]
                figures["ours"] = run_server(
                    "ours", [*cmd, "--port", str(port)], f"http://127.0.0.1:{port}", seconds, tmp
                )
            else:
                print("note: kale_ext.serving.server is not in this tree; only KServe is measured")
    table(figures["kserve"], figures["ours"])
    if args.json:
        Path(args.json).write_text(json.dumps({"seconds": seconds, **figures}, indent=1) + "\n")


if __name__ == "__main__":
    main()
