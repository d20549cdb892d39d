"""Benchmark of workspace snapshots (a benchmark, not a test; opt-in, not in CI), printed beside cp -a, tar and rsync.

A workspace of ``--files`` files (1,000 by default) sharing ``--small-gb`` (1 GB) plus one ``--large-gb`` (1 GB) file
of random (incompressible) bytes is snapshotted into a fresh store: the first snapshot, an unchanged second one, a third
after 1 MB changed in the middle of the large file (its stored bytes read from the store), and a restore into a new
folder. Beside them, on the same data and disk: ``cp -a``, ``tar`` (c piped into x), ``rsync -a``, and dd's
sequential write and read throughput (the physical limit). Every timing is cold and includes ``sync``: before each, the
page cache is dropped (``echo 3 > /proc/sys/vm/drop_caches`` when permitted, else posix_fadvise(DONTNEED) on every file
involved; the output says which). ``--quick`` is ~100 MB (100 files of 0.5 MB and a 50 MB file).

    .venv/bin/python benchmarks/bench_snapshots.py [--quick] [--files N --small-gb G --large-gb G] [--repeat 3]
        [--dir DIR]

Targets (issue 12): first <= 1.5x cp -a; unchanged second <= 5 % of the first; the 1 MB change stores < 10 MB;
restore <= 1.5x cp -a.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kale_ext.snapshots import SnapshotStore  # noqa: E402
from kale_ext.store import Store  # noqa: E402

MB = 1 << 20
BLOCK = 64 * MB


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(BLOCK, left)
            f.write(os.urandom(n))
            left -= n


def make_workspace(ws: Path, files: int, small_bytes: int, large_bytes: int) -> None:
    per = small_bytes // files
    for i in range(files):
        folder = ws / f"part-{i // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        write_random(folder / f"file-{i:04d}.bin", per)
    write_random(ws / "large.bin", large_bytes)


class Cold:
    """Drops the page cache before a timing: the kernel's whole cache when permitted, else each file's pages."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders
        self.method = "drop_caches" if self._drop() else "posix_fadvise(DONTNEED) per file"

    @staticmethod
    def _drop() -> bool:
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
            return True
        except OSError:
            return False

    def __call__(self) -> None:
        os.sync()
        if self.method == "drop_caches" and self._drop():
            return
        for folder in self.folders:
            for dirpath, _dirs, names in os.walk(folder):
                for name in names:
                    path = os.path.join(dirpath, name)
                    if os.path.islink(path):
                        continue
                    try:
                        fd = os.open(path, os.O_RDONLY)
                    except OSError:
                        continue
                    try:
                        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    finally:
                        os.close(fd)


def timed(cold: Cold, fn: Callable[[], object]) -> tuple[float, object]:
    cold()
    t = time.perf_counter()
    result = fn()
    os.sync()
    return time.perf_counter() - t, result


def run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def tar_copy(src: Path, dest: Path) -> None:
    dest.mkdir()
    c = subprocess.Popen(["tar", "-cf", "-", "-C", str(src), "."], stdout=subprocess.PIPE)
    x = subprocess.Popen(["tar", "-xf", "-", "-C", str(dest)], stdin=c.stdout)
    assert c.stdout is not None
    c.stdout.close()
    if x.wait() or c.wait():
        raise RuntimeError("tar failed")


def dd_throughput(work: Path, cold: Cold, size_mb: int) -> tuple[float, float]:
    target = work / "dd.bin"
    t = time.perf_counter()
    run(
        [
            "dd",
            "if=/dev/zero",
            f"of={target}",
            "bs=16M",
            f"count={max(1, size_mb // 16)}",
            "conv=fdatasync",
            "status=none",
        ]
    )
    write = size_mb / (time.perf_counter() - t)
    cold.folders.append(work)
    cold()
    t = time.perf_counter()
    run(["dd", f"if={target}", "of=/dev/null", "bs=16M", "status=none"])
    read = size_mb / (time.perf_counter() - t)
    cold.folders.remove(work)
    target.unlink()
    return write, read


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="~100 MB: 100 files of 0.5 MB and a 50 MB file")
    p.add_argument("--files", type=int, default=1000)
    p.add_argument("--small-gb", type=float, default=1.0, help="total size of the many files")
    p.add_argument("--large-gb", type=float, default=1.0, help="size of the one large file")
    p.add_argument("--repeat", type=int, default=3, help="rounds of cp -a, first snapshot and restore (medians)")
    p.add_argument("--dir", default=None, help="where to build the data (default: a temporary folder in /tmp)")
    args = p.parse_args()
    if args.quick:
        args.files, args.small_gb, args.large_gb = 100, 0.05, 0.05
    small, large = int(args.small_gb * 1024 * MB), int(args.large_gb * 1024 * MB)
    work = Path(tempfile.mkdtemp(prefix="kale-bench-snapshots-", dir=args.dir))
    try:
        bench(work, args.files, small, large, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench(work: Path, files: int, small: int, large: int, repeat: int) -> None:
    ws, store_dir, copy, restored = work / "ws", work / "store", work / "copy", work / "restored"
    ws.mkdir()
    print(f"building the workspace: {files} files of {small // files / MB:.2f} MB + one {large / MB:.0f} MB file ...")
    make_workspace(ws, files, small, large)
    total_mb = (small + large) / MB
    time.sleep(2.1)  # older than the snapshot's racy window, as a workspace edited before a run is
    cold = Cold([ws, store_dir, copy, restored])
    print(f"cold cache by: {cold.method}; every timing includes sync; load average {os.getloadavg()[0]:.1f}")
    dd_write, dd_read = dd_throughput(work, cold, min(2048, int(total_mb)))
    times: dict[str, list[float]] = {}

    def measure(name: str, fn: Callable[[], object], *remove: Path) -> object:
        t, result = timed(cold, fn)
        times.setdefault(name, []).append(t)
        for path in remove:
            shutil.rmtree(path)
        return result

    # Rounds alternate the anchors and ours, so that a busy shared disk slows both alike; medians are printed.
    for i in range(repeat):
        measure("cp -a", lambda: run(["cp", "-a", str(ws), str(copy)]), copy)
        if i == 0:
            measure("tar c | tar x", lambda: tar_copy(ws, copy), copy)
            measure("rsync -a", lambda: run(["rsync", "-a", f"{ws}/", f"{copy}/"]), copy)
        if store_dir.exists():
            shutil.rmtree(store_dir)
        snaps = SnapshotStore(Store(str(store_dir)))
        first = measure("snapshot, first", lambda s=snaps: s.take(str(ws)))
        sid = first["snapshot_id"]  # type: ignore[index]
        measure("restore", lambda s=snaps, sid=sid: s.restore(sid, str(restored)), restored)
    second = measure("snapshot, unchanged", lambda: snaps.take(str(ws)))
    with open(ws / "large.bin", "r+b") as f:
        f.seek(large // 2)
        f.write(os.urandom(MB))
    time.sleep(2.1)
    third = measure("snapshot, 1 MB changed", lambda: snaps.take(str(ws)))
    report(times, total_mb, files, dd_write, dd_read, first, second, third)  # type: ignore[arg-type]


def report(
    times: dict[str, list[float]],
    total_mb: float,
    files: int,
    dd_write: float,
    dd_read: float,
    first: dict,
    second: dict,
    third: dict,
) -> None:
    med = {name: statistics.median(ts) for name, ts in times.items()}
    notes = {
        "snapshot, first": f"new {first['new_bytes'] / MB:.1f} MB",
        "snapshot, unchanged": f"new {second['new_bytes'] / MB:.1f} MB",
        "snapshot, 1 MB changed": f"new {third['new_bytes'] / MB:.2f} MB stored",
        "restore": f"{total_mb:.0f} MB, every chunk verified",
    }
    print(
        f"\ndata: {total_mb:.0f} MB in {files + 1} files; dd sequential: write {dd_write:.0f} MB/s, read {dd_read:.0f} MB/s"
    )
    print(f"{'':24} {'median s':>9} {'MB/s':>7}  {'runs':18} note")
    for name, t in med.items():
        runs = " ".join(f"{x:.1f}" for x in times[name])
        print(f"{name:24} {t:9.2f} {total_mb / t:7.0f}  {runs:18} {notes.get(name, '')}")
    cp, first_t, restore_t = med["cp -a"], med["snapshot, first"], med["restore"]
    second_t, stored = med["snapshot, unchanged"], third["new_bytes"]
    targets = [
        ("first snapshot <= 1.5x cp -a", first_t <= 1.5 * cp, f"{first_t / cp:.2f}x"),
        ("unchanged <= 5% of first", second_t <= 0.05 * first_t, f"{100 * second_t / first_t:.1f}%"),
        ("1 MB change stores < 10 MB", stored < 10 * MB, f"{stored / MB:.2f} MB"),
        ("restore <= 1.5x cp -a", restore_t <= 1.5 * cp, f"{restore_t / cp:.2f}x"),
    ]
    rounds = zip(times["cp -a"], times["snapshot, first"], times["restore"], strict=True)
    print(
        "per round, against that round's cp -a: "
        + "; ".join(f"first {f / c:.2f}x, restore {r / c:.2f}x" for c, f, r in rounds)
    )
    print(f"\nload average now {os.getloadavg()[0]:.1f} (a shared machine's other work slows the disk for all)")
    for name, ok, shown in targets:
        print(f"{'PASS' if ok else 'MISS'}  {name:32} {shown}")


if __name__ == "__main__":
    main()
