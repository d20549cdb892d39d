"""Record KServe 0.21's answers to the requests of kserve_cases.py into fixtures/kserve_0.21_answers.json.

Run with the side environment that has kserve installed (never a dependency of kale-ext):

    python3 -m venv /work/anchors/kserve && /work/anchors/kserve/bin/pip install kserve==0.21.0 scikit-learn
    /work/anchors/kserve/bin/python tests/serving/record_kserve.py

It trains the two models (the same seedless, deterministic fits the compat test trains), starts
benchmarks/kserve_anchor_server.py (KServe's SKLearnModel in its ModelServer) on a loopback port, sends every case
and writes method, path, request body, status and response JSON. Stdlib HTTP only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from kserve_cases import CASES, send  # noqa: E402
from models import train_models  # noqa: E402

ROOT = HERE.parent.parent
FIXTURE = HERE / "fixtures" / "kserve_0.21_answers.json"


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/v2/health/live", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def main() -> None:
    from importlib.metadata import version

    import kserve  # noqa: F401  (fail early outside the side environment)

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 18091
    with tempfile.TemporaryDirectory() as tmp:
        dirs = train_models(Path(tmp))
        base = f"http://127.0.0.1:{port}"
        args = [sys.executable, str(ROOT / "benchmarks" / "kserve_anchor_server.py"), "--http_port", str(port)]
        args += ["--model_dir", str(dirs["m"]), "--model_name", "m", "--extra_model", f"pipe={dirs['pipe']}"]
        args += ["--not_ready_model", "loading"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(base, proc)
            answers = []
            for case in CASES:
                status, body = send(base, case)
                answers.append({**case, "status": status, "response": body})
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    out = {"kserve": version("kserve"), "scikit_learn": version("scikit-learn"), "answers": answers}
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {len(answers)} answers to {FIXTURE}")


if __name__ == "__main__":
    main()
