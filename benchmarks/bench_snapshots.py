"""Benchmark of workspace snapshots (a benchmark, not a test; opt-in, not in CI), printed beside cp -a, tar and rsync.

A workspace of ``--files`` files (1,000 by default) sharing ``--small-gb`` (1 GB) plus one ``--large-gb`` (1 GB) file
of random (incompressible) bytes is snapshotted into a fresh store: the first snapshot, an unchanged second one, a third
after 1 MB changed in the middle of the large file (its stored bytes read from the store), and a restore into a new
folder. Beside them, on the same data and disk: ``cp -a``, ``tar`` (c piped into x), ``rsync -a``, and dd's
sequential write and read throughput (the physical limit). Every timing is cold and includes ``sync``: before each, the
page cache is dropped (``echo 3 > /proc/sys/vm/drop_caches`` when permitted, else posix_fadvise(DONTNEED) on every file
involved; the output says which). ``--quick`` is ~100 MB (100 files of 0.5 MB and a 50 MB file).

    .venv/bin/python benchmarks/bench_snapshots.py [--quick] [--files N --small-gb G --large-gb G] [--dir DIR]

Targets (issue 12): first <= 1.5x cp -a; unchanged second <= 5 % of the first; the 1 MB change stores < 10 MB;
restore <= 1.5x cp -a.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
    p.add_argument("--dir", default=None, help="where to build the data (default: a temporary folder in /tmp)")
    args = p.parse_args()
    if args.quick:
        args.files, args.small_gb, args.large_gb = 100, 0.05, 0.05
    small, large = int(args.small_gb * 1024 * MB), int(args.large_gb * 1024 * MB)
    work = Path(tempfile.mkdtemp(prefix="kale-bench-snapshots-", dir=args.dir))
    try:
        bench(work, args.files, small, large)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench(work: Path, files: int, small: int, large: int) -> None:
    ws, store_dir = work / "ws", work / "store"
    ws.mkdir()
    print(f"building the workspace: {files} files of {small // files / MB:.2f} MB + one {large / MB:.0f} MB file ...")
    make_workspace(ws, files, small, large)
    total_mb = (small + large) / MB
    time.sleep(2.1)  # older than the snapshot's racy window, as a workspace edited before a run is
    cold = Cold([ws, store_dir, work / "copy", work / "restored"])
    print(f"cold cache by: {cold.method}; every timing includes sync")
    dd_write, dd_read = dd_throughput(work, cold, min(2048, int(total_mb)))
    rows: list[tuple[str, float, str]] = []
    anchors = {}
    for name, fn in (
        ("cp -a", lambda: run(["cp", "-a", str(ws), str(work / "copy")])),
        ("tar c | tar x", lambda: tar_copy(ws, work / "copy")),
        ("rsync -a", lambda: run(["rsync", "-a", f"{ws}/", f"{work / 'copy'}/"])),
    ):
        anchors[name], _ = timed(cold, fn)
        rows.append((name, anchors[name], ""))
        shutil.rmtree(work / "copy")
    snaps = SnapshotStore(Store(str(store_dir)))
    first_t, first = timed(cold, lambda: snaps.take(str(ws)))
    second_t, second = timed(cold, lambda: snaps.take(str(ws)))
    with open(ws / "large.bin", "r+b") as f:
        f.seek(large // 2)
        f.write(os.urandom(MB))
    time.sleep(2.1)
    third_t, third = timed(cold, lambda: snaps.take(str(ws)))
    restore_t, _ = timed(cold, lambda: snaps.restore(third["snapshot_id"], str(work / "restored")))
    rows += [
        ("snapshot, first", first_t, f"new {first['new_bytes'] / MB:.1f} MB"),
        ("snapshot, unchanged", second_t, f"new {second['new_bytes'] / MB:.1f} MB"),
        ("snapshot, 1 MB changed", third_t, f"new {third['new_bytes'] / MB:.2f} MB"),
        ("restore", restore_t, f"{total_mb:.0f} MB verified"),
    ]
    print(
        f"\ndata: {total_mb:.0f} MB in {files + 1} files; dd sequential: write {dd_write:.0f} MB/s, read {dd_read:.0f} MB/s"
    )
    print(f"{'':24} {'seconds':>8} {'MB/s':>8}  note")
    for name, t, note in rows:
        print(f"{name:24} {t:8.2f} {total_mb / t:8.0f}  {note}")
    cp = anchors["cp -a"]
    targets = [
        ("first snapshot <= 1.5x cp -a", first_t / cp, first_t <= 1.5 * cp, f"{first_t / cp:.2f}x"),
        (
            "unchanged <= 5% of first",
            second_t / first_t,
            second_t <= 0.05 * first_t,
            f"{100 * second_t / first_t:.1f}%",
        ),
        (
            "1 MB change stores < 10 MB",
            third["new_bytes"],
            third["new_bytes"] < 10 * MB,
            f"{third['new_bytes'] / MB:.2f} MB",
        ),
        ("restore <= 1.5x cp -a", restore_t / cp, restore_t <= 1.5 * cp, f"{restore_t / cp:.2f}x"),
    ]
    print()
    for name, _value, ok, shown in targets:
        print(f"{'PASS' if ok else 'MISS'}  {name:32} {shown}")


if __name__ == "__main__":
    main()
