"""Benchmark of `kale-ext compile` end to end (a benchmark, not a test), printed beside Kubeflow Kale 2.3.0's
`kale --nb NB` (which compiles the notebook to KFP IR YAML) when Kale is installed in a side environment.

Notebooks: the 5-step iris notebook of ../shared/bench/make_iris_notebook.py and 100- and 300-step synthetic notebooks of
../shared/bench/gen_synthetic.py. Both tools run as fresh processes on copies of the same files (process start, imports,
analysis, code generation and the kfp compiler included); ours is the best of --repeat, Kale's the best of
--kale-repeat. The Kale anchor runs when KALE_ANCHOR_PYTHON names a python with kubeflow-kale==2.3.0:

    python3 -m venv /work/anchors/kale && /work/anchors/kale/bin/pip install kubeflow-kale==2.3.0
    KALE_ANCHOR_PYTHON=/work/anchors/kale/bin/python .venv/bin/python benchmarks/bench_compile.py [--repeat 3]

Target: 300 steps compiled in at most 5 s, at least 10x faster than Kale.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".." / "shared" / "bench"
SYNTHETIC = [100, 300]  # one-cell steps


def make_notebooks(out: Path) -> list[tuple[str, Path]]:
    subprocess.run([sys.executable, str(BENCH / "make_iris_notebook.py"), str(out)], check=True, capture_output=True)
    files = [("iris (5 steps)", out / "iris_branches.ipynb")]
    for n in SYNTHETIC:
        path = out / f"syn_{n}x1.ipynb"
        cmd = [sys.executable, str(BENCH / "gen_synthetic.py"), "--cells", str(n), "--cells-per-step", "1"]
        subprocess.run([*cmd, "--out", str(path)], check=True, capture_output=True)
        files.append((f"synthetic {n} steps", path))
    return files


def ours_command() -> list[str]:
    exe = shutil.which("kale-ext") or str(Path(sys.executable).parent / "kale-ext")
    return [exe, "compile"] if os.path.exists(exe) else [sys.executable, "-m", "kale_ext", "compile"]


def best_of(cmd: list[str], repeat: int, cwd: Path) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
        best = min(best, time.perf_counter() - t)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
    return best


def time_ours(path: Path, repeat: int) -> float:
    out = path.with_suffix(".kale-ext.yaml")
    return best_of([*ours_command(), str(path), "-o", str(out)], repeat, path.parent)


def time_kale(python: str, path: Path, repeat: int) -> float:
    """`kale --nb NB` on a copy in its own folder (Kale writes .kale/ there)."""
    work = Path(tempfile.mkdtemp(prefix="kale-anchor-"))
    try:
        copy = work / path.name
        shutil.copy(path, copy)
        return best_of([python, "-m", "kale.cli", "--nb", str(copy)], repeat, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs of kale-ext compile per notebook (best is shown)")
    ap.add_argument("--kale-repeat", type=int, default=1, help="runs of kale --nb per notebook")
    ap.add_argument("--no-kale", action="store_true")
    a = ap.parse_args()
    if not (BENCH / "gen_synthetic.py").exists():
        raise SystemExit(f"benchmark helpers not found in {BENCH}")
    kale = None if a.no_kale else os.environ.get("KALE_ANCHOR_PYTHON")
    if kale and not os.path.exists(kale):
        raise SystemExit(f"KALE_ANCHOR_PYTHON={kale} does not exist")
    tmp = Path(tempfile.mkdtemp(prefix="kale-ext-bench-compile-"))
    try:
        files = make_notebooks(tmp)
        print(
            f"`{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(ours_command()))} NB -o FILE` "
            f"(best of {a.repeat}) beside `kale --nb NB` (best of {a.kale_repeat}), wall time, process start included"
        )
        print(f"Kale anchor: {kale or 'not run (set KALE_ANCHOR_PYTHON to a python with kubeflow-kale==2.3.0)'}")
        header = f"{'notebook':<22}{'kale-ext s':>12}{'Kale s':>10}{'Kale/ours':>11}"
        print(header)
        print("-" * len(header))
        results = {}
        for label, path in files:
            ours = time_ours(path, a.repeat)
            theirs = time_kale(kale, path, a.kale_repeat) if kale else None
            results[label] = (ours, theirs)
            ratio = f"{theirs / ours:.1f}x" if theirs else "-"
            print(f"{label:<22}{ours:>12.2f}{(f'{theirs:.2f}' if theirs else '-'):>10}{ratio:>11}")
        ours, theirs = results["synthetic 300 steps"]
        verdict = f"300 steps: {ours:.2f} s (target <= 5 s: {'met' if ours <= 5 else 'MISSED'})"
        if theirs:
            verdict += (
                f", {theirs / ours:.1f}x faster than Kale (target >= 10x: {'met' if theirs / ours >= 10 else 'MISSED'})"
            )
        print(verdict)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
