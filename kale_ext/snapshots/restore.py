"""Restoring a snapshot into a folder, and verifying every snapshot's objects.

Restore writes each file to a temporary name beside its place, checking every chunk (its size and BLAKE3 hash) as it
is read and the whole file's hash at the end; only a file that passes is renamed into place, so a damaged or missing
chunk is an error naming the file (SnapshotError snapshot.corrupt), never a silently wrong file. Symlinks are recreated
as links (their targets as recorded), then modes and modification times are set, folders last (deepest first) so that
a read-only folder does not stop its own restore. A non-empty target is refused unless ``force``, which overwrites the
snapshot's paths in it and leaves other files alone.

``verify`` checks each chunk any snapshot refers to once (exists, size, hash) and reports every file it damages.
Plain Python plus blake3; never imports tornado or jupyter_server.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
import tempfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .chunking import SMALL
from .errors import SnapshotError
from .objects import FULL, Objects, digest, file_hash_of
from .take import THREADS

READ_AHEAD = 16
DAMAGED = "damaged (its content does not match its hash)"


def corrupt(snapshot_id: str, path: str, chunk: str, problem: str, folder: str) -> SnapshotError:
    return SnapshotError(
        f"Cannot restore {path} from snapshot {snapshot_id}: its chunk {chunk[:16]} is {problem}. The snapshot store "
        f"at {folder} is damaged; `kale-ext store verify` lists every damaged file.",
        code="snapshot.corrupt",
        details={"snapshot_id": snapshot_id, "path": path, "chunk": chunk, "problem": problem},
    )


def check_target(to: str, force: bool) -> None:
    if os.path.lexists(to) and not os.path.isdir(to):
        raise SnapshotError(
            f"Cannot restore into {to}: it is a file, not a folder. Fix: name a new or empty folder.",
            code="snapshot.target_not_empty",
            details={"folder": to},
        )
    if os.path.isdir(to) and not force and any(os.scandir(to)):
        raise SnapshotError(
            f"Cannot restore into {to}: the folder is not empty. Fix: name a new or empty folder, or pass force "
            "(--force) to overwrite the snapshot's files in it.",
            code="snapshot.target_not_empty",
            details={"folder": to},
        )


def restore_files(objects: Objects, snapshot_id: str, rows: list[Any], to: str, force: bool) -> dict[str, Any]:
    to = os.path.abspath(to)
    check_target(to, force)
    os.makedirs(to, exist_ok=True)
    dirs = [r for r in rows if r["kind"] == "dir"]
    for r in dirs:
        dest = os.path.join(to, r["path"])
        if os.path.lexists(dest) and not os.path.isdir(dest):
            os.unlink(dest)
        os.makedirs(dest, exist_ok=True)
        os.chmod(dest, 0o700 | stat.S_IMODE(r["mode"]))
    files = [r for r in rows if r["kind"] != "dir"]
    files.sort(key=lambda r: -r["size"])
    with (
        ThreadPoolExecutor(THREADS, thread_name_prefix="kale-restore") as pool,
        ThreadPoolExecutor(2 * THREADS, thread_name_prefix="kale-restore-read") as readers,
    ):
        for f in [pool.submit(_restore_one, objects, readers, snapshot_id, r, to) for r in files]:
            f.result()
    for r in sorted(dirs, key=lambda r: -r["path"].count("/")):
        dest = os.path.join(to, r["path"])
        os.chmod(dest, stat.S_IMODE(r["mode"]))
        os.utime(dest, ns=(r["mtime_ns"], r["mtime_ns"]))
    return {"snapshot_id": snapshot_id, "folder": to, "files": len(files), "bytes": sum(r["size"] for r in files)}


def _restore_one(objects: Objects, readers: ThreadPoolExecutor, snapshot_id: str, r: Any, to: str) -> None:
    dest = os.path.join(to, r["path"])
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.isdir(dest) and not os.path.islink(dest):
        shutil.rmtree(dest)
    if r["kind"] == "link":
        if os.path.lexists(dest):
            os.unlink(dest)
        os.symlink(r["target"], dest)
        os.utime(dest, ns=(r["mtime_ns"], r["mtime_ns"]), follow_symlinks=False)
        return
    fd, made = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".kale-restore-")
    tmp: str | None = made
    try:
        with open(fd, "wb", closefd=True) as out:
            _write_chunks(objects, readers, snapshot_id, r, out)
        os.chmod(made, stat.S_IMODE(r["mode"]))
        os.utime(made, ns=(r["mtime_ns"], r["mtime_ns"]))
        os.replace(made, dest)
        tmp = None
    except OSError as exc:
        if exc.errno in FULL:
            raise SnapshotError(
                f"The disk holding {to} is full ({exc.strerror}) while restoring {r['path']}: free space or restore "
                "elsewhere.",
                code="snapshot.disk_full",
                details={"folder": to},
            ) from None
        raise
    finally:
        if tmp is not None:
            os.unlink(tmp)


def _load(objects: Objects, h: str) -> tuple[bytes | None, str]:
    """An object's bytes and "" when it is intact, else (None, what is wrong)."""
    try:
        data = objects.read(h)
    except FileNotFoundError:
        return None, "missing"
    if digest(data) != h:
        return None, DAMAGED
    return data, ""


def _write_chunks(objects: Objects, readers: ThreadPoolExecutor, snapshot_id: str, r: Any, out: Any) -> None:
    """Write the file's chunks in order while the reader threads fetch and check up to READ_AHEAD chunks ahead (the
    objects of a large file are many small files: read one at a time, a cold disk would serve them at a crawl)."""
    chunks = json.loads(r["chunks"])
    if file_hash_of(chunks) != r["hash"]:
        raise corrupt(snapshot_id, r["path"], r["hash"], "not consistent with its chunk list", objects.store_folder)
    if len(chunks) == 1 and r["size"] > SMALL:  # one large object (a linked artifact): streamed, checked at the end
        try:
            size, h = objects.stream(chunks[0], out)
        except FileNotFoundError:
            raise corrupt(snapshot_id, r["path"], chunks[0], "missing", objects.store_folder) from None
        if h != chunks[0] or size != r["size"]:
            raise corrupt(snapshot_id, r["path"], chunks[0], DAMAGED, objects.store_folder)
        return
    pending: deque = deque()
    ahead = iter(chunks)
    for h in itertools.islice(ahead, READ_AHEAD):
        pending.append((h, readers.submit(_load, objects, h)))
    written = 0
    while pending:
        h, future = pending.popleft()
        nxt = next(ahead, None)
        if nxt is not None:
            pending.append((nxt, readers.submit(_load, objects, nxt)))
        data, problem = future.result()
        if data is None:
            raise corrupt(snapshot_id, r["path"], h, problem, objects.store_folder)
        out.write(data)
        written += len(data)
    if written != r["size"]:
        raise corrupt(
            snapshot_id, r["path"], r["hash"], "not the file recorded (its size differs)", objects.store_folder
        )


def verify_objects(conn: Any, objects: Objects) -> list[dict[str, Any]]:
    """Every damaged chunk, as the files it damages: [{"snapshot_id", "path", "chunk", "problem"}]."""
    rows = conn.execute(
        "SELECT u.h AS hash, c.size AS size FROM (SELECT DISTINCT j.value AS h FROM snapshot_files f, "
        "json_each(f.chunks) j) u LEFT JOIN chunks c ON c.hash = u.h"
    ).fetchall()

    def check(row: Any) -> tuple[str, str | None]:
        if row["size"] is None:
            return row["hash"], "not recorded in the chunks table"
        return row["hash"], objects.check(row["hash"], row["size"])

    with ThreadPoolExecutor(THREADS, thread_name_prefix="kale-verify") as pool:
        bad = {h: problem for h, problem in pool.map(check, rows) if problem}
    if not bad:
        return []
    damage = []
    for f in conn.execute(
        "SELECT f.snapshot_id, f.path, j.value AS chunk FROM snapshot_files f, json_each(f.chunks) j "
        "ORDER BY f.snapshot_id, f.path"
    ):
        if f["chunk"] in bad:
            damage.append(
                {"snapshot_id": f["snapshot_id"], "path": f["path"], "chunk": f["chunk"], "problem": bad[f["chunk"]]}
            )
    return damage
