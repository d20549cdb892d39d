"""What a store holds: its size on disk by category and its record counts (``kale-ext store info``), and the check of
its run artifacts against their recorded content hashes (half of ``kale-ext store verify``; the snapshot engine checks
its chunks).

Sizes are one walk over the store's folder, every file counted once in exactly one category, so the categories add up
to the total: "database" (kale.db and its WAL/shared-memory files), "logs" (the steps' log.txt under runs/),
"runs/artifacts" (everything else under runs/: artifacts, job and result files), "objects/snapshots" (the snapshot
engine's content-addressed objects under objects/), "other" (the rest: warm-start probes, leftovers). Sizes are apparent
sizes (st_size) of regular files; symlinks are not followed. Plain Python (sqlite3, hashlib; numpy only to check a numpy
artifact); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from ..marshal.base import file_hash
from ..marshal.builtins import NumpyArraySerializer

CATEGORIES = ("database", "runs/artifacts", "logs", "objects/snapshots", "other")
DATABASE_FILES = ("kale.db", "kale.db-wal", "kale.db-shm", "kale.db-journal")
COUNTED_TABLES = ("runs", "steps", "artifacts", "metrics", "snapshots", "snapshot_files", "chunks", "experiments")


def category_of(relative: str) -> str:
    """The category of a file given by its path relative to the store's folder ("/"-separated)."""
    head, _, rest = relative.partition("/")
    if not rest and head in DATABASE_FILES:
        return "database"
    if head == "runs" and rest:
        return "logs" if relative.rsplit("/", 1)[-1] == "log.txt" else "runs/artifacts"
    if head == "objects" and rest:
        return "objects/snapshots"
    return "other"


def disk_usage(folder: str) -> dict[str, dict[str, int]]:
    """{category: {"bytes", "files"}} for every category of CATEGORIES, plus "total". A file with several hard links
    in the store (a snapshot object that is a link of a run artifact: kale_ext.snapshots) is on disk once and counted
    once, in the category of its first name by CATEGORIES' order (so under runs/artifacts while its run exists)."""
    rank = {c: i for i, c in enumerate(CATEGORIES)}
    found: dict[tuple[int, int], tuple[str, int]] = {}  # (device, inode) -> (category, size)
    for base, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(base, name)
            try:
                st = os.lstat(path)
            except OSError:  # deleted while we walked
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            category = category_of(os.path.relpath(path, folder).replace(os.sep, "/"))
            key = (st.st_dev, st.st_ino)
            if key not in found or rank[category] < rank[found[key][0]]:
                found[key] = (category, st.st_size)
    out = {c: {"bytes": 0, "files": 0} for c in (*CATEGORIES, "total")}
    for category, size in found.values():
        for k in (category, "total"):
            out[k]["bytes"] += size
            out[k]["files"] += 1
    return out


def record_counts(store: Any) -> dict[str, int]:
    """The number of rows of each table of COUNTED_TABLES, plus "served_models" (the live served versions)."""
    c = store._conn()
    counts = {}
    with c.snapshot():
        for table in COUNTED_TABLES:  # constant names only
            counts[table] = int(c.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        counts["served_models"] = int(
            c.execute("SELECT count(*) FROM served_models WHERE stopped IS NULL").fetchone()[0]
        )
    return counts


def verify_artifacts(store: Any) -> tuple[list[dict[str, Any]], int]:
    """Check every distinct artifact file against its recorded size and content hash; (damage, files checked). Each
    damage entry {"run_id", "step", "name", "path", "problem"}; a file recorded by several runs (cached steps) is read
    once."""
    rows = store._conn().execute("SELECT run_id, step, name, path, serializer, hash, size FROM artifacts ORDER BY id")
    seen: set[str] = set()
    damage: list[dict[str, Any]] = []
    for r in rows.fetchall():
        if r["path"] in seen:
            continue
        seen.add(r["path"])
        problem = artifact_problem(r["path"], r["serializer"], r["hash"], r["size"])
        if problem:
            damage.append({k: r[k] for k in ("run_id", "step", "name", "path")} | {"problem": problem})
    return damage, len(seen)


def artifact_problem(path: str, serializer: str, expected: str, size: int) -> str | None:
    """What is wrong with one artifact file, or None. The hash is the sha256 of the file's bytes, except for a numpy
    array saved in one pass (marshal/builtins.py), whose digest covers its dtype, shape and raw data: a numpy
    artifact is checked against that digest first (one read of the file), then against the file's hash (an array that
    was not C-contiguous when saved recorded that)."""
    try:
        actual_size = os.path.getsize(path)
    except OSError:
        return "missing: the file does not exist"
    if actual_size != size:
        return f"size {actual_size} bytes, recorded {size}"
    if serializer == "numpy" and numpy_digest(path) == expected:
        return None
    if file_hash(path) == expected:
        return None
    return f"content hash differs from the recorded {expected}"


def numpy_digest(path: str) -> str | None:
    """The digest the numpy serializer records, from the saved file (None when it cannot be read as an array)."""
    try:
        return NumpyArraySerializer().hash_saved(path)
    except Exception:  # a damaged header: not a loadable array (or numpy is not installed)
        return None
