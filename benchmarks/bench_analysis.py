"""Benchmark of the notebook analysis (a benchmark, not a test), printed beside Kubeflow Kale 2.3.0 when it is installed
in a side environment.

Generates with ../shared/bench/gen_synthetic.py notebooks of 100, 300 and 1000 one-cell steps and of 1000 cells in
100 steps, times kale_ext.analysis.analyze (best of --repeat), times `kale-ext analyze` end to end (process start
included) on the 5-step iris notebook of ../shared/bench/make_iris_notebook.py, and runs ../shared/bench/kale_anchor.py
with the side environment's python (KALE_ANCHOR_PYTHON, default /work/kale-venv/bin/python) on the same files.

    .venv/bin/python benchmarks/bench_analysis.py [--repeat 5] [--kale-max-steps 300] [--no-kale]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".." / "shared" / "bench"
sys.path.insert(0, str(ROOT))

from kale_ext.analysis import analyze  # noqa: E402
from kale_ext.notebook import load_notebook  # noqa: E402

SIZES = [(100, 1), (300, 1), (1000, 1), (1000, 10)]  # (cells, cells per step)


def generate(out_dir: Path) -> list[tuple[str, Path, int]]:
    out = []
    for cells, per_step in SIZES:
        path = out_dir / f"syn_{cells}x{per_step}.ipynb"
        subprocess.run(
            [
                sys.executable,
                str(BENCH / "gen_synthetic.py"),
                "--cells",
                str(cells),
                "--cells-per-step",
                str(per_step),
                "--out",
                str(path),
            ],
            check=True,
            capture_output=True,
        )
        out.append((f"{cells} cells / {cells // per_step} steps", path, cells // per_step))
    return out


def time_analysis(paths: list[Path], repeat: int) -> dict[Path, tuple[float, int, int]]:
    """Best of ``repeat`` for each file, round-robin over the files so that a noisy machine drifts on all alike."""
    best = dict.fromkeys(paths, float("inf"))
    shape: dict[Path, tuple[int, int]] = {}
    for _ in range(repeat):
        for path in paths:
            t = time.perf_counter()
            p = analyze(load_notebook(path))
            best[path] = min(best[path], time.perf_counter() - t)
            shape[path] = (len(p.steps), sum(len(s.depends_on) for s in p.steps))
    return {path: (best[path], *shape[path]) for path in paths}


def cli_command() -> list[str]:
    exe = shutil.which("kale-ext") or str(Path(sys.executable).parent / "kale-ext")
    if os.path.exists(exe):
        return [exe, "analyze"]
    return [sys.executable, "-m", "kale_ext", "analyze"]


def time_cli(path: Path, repeat: int) -> tuple[float, str]:
    cmd = cli_command()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        r = subprocess.run([*cmd, str(path), "--json"], capture_output=True, text=True, cwd=ROOT)
        best = min(best, time.perf_counter() - t)
        if r.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return best, " ".join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd))


def kale_python(disabled: bool) -> str | None:
    if disabled:
        return None
    exe = os.environ.get("KALE_ANCHOR_PYTHON", "/work/kale-venv/bin/python")
    return exe if os.path.exists(exe) else None


def time_kale(exe: str, path: Path) -> dict | None:
    r = subprocess.run([exe, str(BENCH / "kale_anchor.py"), str(path), "--no-kfp"], capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--kale-max-steps", type=int, default=300, help="skip Kale above this many steps (it is O(n^2+))")
    ap.add_argument("--no-kale", action="store_true")
    a = ap.parse_args()
    if not (BENCH / "gen_synthetic.py").exists():
        raise SystemExit(f"benchmark helpers not found in {BENCH}")
    kale = kale_python(a.no_kale)
    tmp = Path(tempfile.mkdtemp(prefix="kale-ext-bench-"))
    files = generate(tmp)
    print(f"analysis (best of {a.repeat}), notebooks in {tmp}")
    print(f"Kale anchor: {kale or 'not installed (set KALE_ANCHOR_PYTHON)'}")
    header = f"{'notebook':<26}{'steps':>6}{'edges':>7}{'kale-ext s':>12}{'Kale s':>10}{'Kale/ours':>11}"
    print(header)
    print("-" * len(header))
    ours_by_steps = {}
    timings = time_analysis([path for _, path, _ in files], a.repeat)
    for label, path, steps in files:
        t, n_steps, n_edges = timings[path]
        ours_by_steps[(label, steps)] = t
        kale_s, ratio = "-", "-"
        if kale and steps <= a.kale_max_steps:
            res = time_kale(kale, path)
            if res and "analysis_s" in res:
                kale_s, ratio = f"{res['analysis_s']:.2f}", f"{res['analysis_s'] / t:.0f}x"
            else:
                kale_s = "failed"
        elif kale:
            kale_s = "skipped"
        print(f"{label:<26}{n_steps:>6}{n_edges:>7}{t:>12.4f}{kale_s:>10}{ratio:>11}")
    t300 = next(t for (label, s), t in ours_by_steps.items() if s == 300)
    t1000 = next(t for (label, s), t in ours_by_steps.items() if s == 1000)
    print(
        f"growth 1000 vs 300 one-cell steps: {t1000 / t300:.2f}x (target <= 4x); 1000 steps: {t1000:.3f} s "
        "(target < 1 s)"
    )
    if kale:
        print(f"Kale skipped above {a.kale_max_steps} steps (it takes minutes there); use --kale-max-steps to change")

    iris_dir = tmp / "iris"
    subprocess.run(
        [sys.executable, str(BENCH / "make_iris_notebook.py"), str(iris_dir)], check=True, capture_output=True
    )
    iris = iris_dir / "iris_branches.ipynb"
    t_cli, cmd = time_cli(iris, a.repeat)
    line = (
        f"end to end `{cmd} iris_branches.ipynb --json` (5 steps, process start included): {t_cli:.3f} s "
        "(target < 1.5 s)"
    )
    if kale:
        res = time_kale(kale, iris)
        if res and "analysis_s" in res:
            line += f"; Kale import + analysis in-process: {res['import_s'] + res['analysis_s']:.2f} s"
    print(line)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
