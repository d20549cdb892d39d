"""Taking a snapshot: scan the workspace, store what is new as content-addressed objects, commit the manifest at once.

The steps, and what makes each fast:
1. Scan (workspace.py) and look up the newest snapshot of the same root. A file whose size, mtime_ns, inode and ctime_ns
   equal that snapshot's row is not read again: its hash and chunk list are reused (git's index trick). A file changed
   less than ``RACY_NS`` before the scan is recorded with ctime_ns -1, so the next snapshot reads it again (a write in
   the same timestamp tick would otherwise go unseen); so is a file whose stat changed while it was read.
2. Read the other files in a few threads (hashing and file IO release the GIL). A file up to ``SMALL`` bytes (4 MiB)
   is one object; a larger one is cut by content-defined chunking (chunking.py), so a change of a few MB inside a
   1 GB file yields a few new chunks and the others are found already stored. A large file's chunks are hashed and
   written by helper threads while its own thread goes on cutting. An object that exists is not written again.
3. Dedup with the run artifacts (artifacts.py): a file whose bytes equal an artifact of a finished run becomes an object
   that is a hard link of the artifact's file, recorded ``linked`` and counted 0 new bytes.
4. Commit in one write transaction: ``INSERT OR IGNORE`` every chunk (the process whose row lands counts its bytes in
   new_bytes, so two snapshots of one workspace at once count a shared chunk once), the snapshot row, its files. An
   object another process was to provide and that is gone by then (a concurrent sweep) makes the take start over.
A failure (a full disk: SnapshotError snapshot.disk_full) leaves no snapshot row and removes the objects this take
wrote that no row refers to.

Plain Python plus blake3 and pyfastcdc; never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from .artifacts import finished_artifacts, matching_artifact
from .chunking import SMALL, cut, mapped
from .errors import SnapshotError
from .objects import FULL, HASH_PREFIX, Objects, digest, disk_full, file_hash_of
from .workspace import Entry, scan

WINDOW = 32
RACY_NS = 2_000_000_000
THREADS = max(2, min(4, (os.cpu_count() or 1) * 2))


@dataclass
class Record:
    path: str
    kind: str
    size: int
    mode: int
    mtime_ns: int
    ino: int
    ctime_ns: int
    target: str | None = None
    hash: str = ""
    chunks: list[str] = field(default_factory=list)

    def row(self, snapshot_id: str) -> tuple[Any, ...]:
        return (
            snapshot_id,
            self.path,
            self.kind,
            self.size,
            self.mode,
            self.mtime_ns,
            self.ino,
            self.ctime_ns,
            self.target,
            self.hash,
            json.dumps(self.chunks),
        )


class _Raced(Exception):
    """An object this take counted on disappeared before the commit (a concurrent sweep): take it again."""


def new_snapshot_id() -> str:
    return "snap-" + time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


class Taker:
    """One snapshot being taken (not reusable)."""

    def __init__(self, store: Any, objects: Objects, threads: int = THREADS) -> None:
        self.store = store
        self.objects = objects
        self.threads = threads
        self.lock = threading.Lock()
        self.sizes: dict[str, tuple[int, int]] = {}  # chunk hash -> (size, linked)
        self.written: set[str] = set()

    def take(self, root: str, notebook: str | None, paths: tuple[str, ...]) -> dict[str, Any]:
        for _attempt in range(3):
            try:
                return self._take(root, notebook, paths)
            except _Raced:
                self.sizes.clear()
                self.written.clear()
        raise SnapshotError("The object store kept changing under this snapshot (a concurrent gc); try again.")

    def _take(self, root: str, notebook: str | None, paths: tuple[str, ...]) -> dict[str, Any]:
        created = time.time()
        now_ns = time.time_ns()
        entries = scan(root, skip=[self.store.folder], paths=paths)
        previous = self._previous(root)
        artifacts = finished_artifacts(self.store._conn())
        records: list[Record] = []
        todo: list[tuple[Entry, Record]] = []
        for e in entries:
            rec = Record(
                e.path,
                e.kind,
                e.st.st_size if e.kind == "file" else 0,
                e.st.st_mode,
                e.st.st_mtime_ns,
                e.st.st_ino,
                e.st.st_ctime_ns if e.st.st_ctime_ns < now_ns - RACY_NS else -1,
                e.target,
            )
            records.append(rec)
            if e.kind == "link":
                rec.hash = HASH_PREFIX + digest(os.fsencode(e.target or ""))
            elif e.kind == "file" and not self._reuse(rec, previous.get(e.path)):
                todo.append((e, rec))
        try:
            self._ingest(todo, artifacts)
            return self._commit(root, notebook, paths, created, records)
        except (SnapshotError, sqlite3.OperationalError, OSError) as exc:
            self._clean_up()
            if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
                raise disk_full(self.store.folder, OSError(28, "database or disk is full")) from None
            raise

    # ------------------------------------------------------------------------------------------------ fast path
    def _previous(self, root: str) -> dict[str, Any]:
        c = self.store._conn()
        row = c.execute(
            "SELECT snapshot_id FROM snapshots WHERE root = ? ORDER BY created DESC LIMIT 1", (root,)
        ).fetchone()
        if row is None:
            return {}
        rows = c.execute(
            "SELECT path, kind, size, mtime_ns, ino, ctime_ns, hash, chunks FROM snapshot_files WHERE snapshot_id = ?",
            (row["snapshot_id"],),
        )
        return {r["path"]: r for r in rows}

    def _reuse(self, rec: Record, old: Any) -> bool:
        if old is None or old["kind"] != "file" or old["ctime_ns"] == -1 or rec.ctime_ns == -1:
            return False
        if (old["size"], old["mtime_ns"], old["ino"], old["ctime_ns"]) != (
            rec.size,
            rec.mtime_ns,
            rec.ino,
            rec.ctime_ns,
        ):
            return False
        chunks = json.loads(old["chunks"])
        sizes = [(chunks[0], rec.size)] if len(chunks) == 1 else self._chunk_sizes(sorted(set(chunks)))
        if len(sizes) != len(set(chunks)):
            return False  # the previous snapshot's chunks are no longer all known (a concurrent gc): read it again
        for h, size in sizes:
            self._note(h, size, 0)
        rec.hash, rec.chunks = old["hash"], chunks
        return True

    def _chunk_sizes(self, hashes: list[str]) -> list[tuple[str, int]]:
        c = self.store._conn()
        out: list[tuple[str, int]] = []
        for i in range(0, len(hashes), 500):
            part = hashes[i : i + 500]
            rows = c.execute(f"SELECT hash, size FROM chunks WHERE hash IN ({','.join('?' * len(part))})", part)
            out.extend((r["hash"], r["size"]) for r in rows)
        return out

    # --------------------------------------------------------------------------------------------------- ingest
    def _ingest(self, todo: list[tuple[Entry, Record]], artifacts: dict[int, list[tuple[str, str]]]) -> None:
        todo.sort(key=lambda t: -t[1].size)  # the large files first, so the threads finish together
        with (
            ThreadPoolExecutor(self.threads, thread_name_prefix="kale-snapshot") as pool,
            ThreadPoolExecutor(self.threads, thread_name_prefix="kale-chunk") as self.helpers,
        ):
            futures = [pool.submit(self._ingest_file, e, rec, artifacts.get(rec.size)) for e, rec in todo]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for f in pending:
                f.cancel()
            for f in done:
                f.result()

    def _ingest_file(self, e: Entry, rec: Record, artifacts: list[tuple[str, str]] | None) -> None:
        try:
            self._read_file(e, rec, artifacts)
            after = os.lstat(e.source)
        except FileNotFoundError:
            rec.kind = "gone"  # deleted since the scan: not in the snapshot (it was not there when it was read)
            return
        except OSError as exc:
            if exc.errno in FULL:
                raise disk_full(self.store.folder, exc) from None
            raise SnapshotError(
                f"Cannot read {e.source} ({exc.strerror}). Fix: make it readable, or list it in .kaleignore.",
                code="snapshot.unreadable",
                details={"path": e.path},
            ) from None
        if (after.st_size, after.st_mtime_ns, after.st_ctime_ns) != (rec.size, rec.mtime_ns, e.st.st_ctime_ns):
            rec.ctime_ns = -1  # changed while read: what was read is recorded; read it again next time

    def _read_file(self, e: Entry, rec: Record, artifacts: list[tuple[str, str]] | None) -> None:
        if artifacts and self._link_artifact(e, rec, artifacts):
            return
        if rec.size <= SMALL:
            with open(e.source, "rb") as f:
                data = f.read()
            h = digest(data)
            self._put(h, data)
            rec.hash, rec.chunks, rec.size = HASH_PREFIX + h, ([h] if data else []), len(data)
        else:
            self._chunk_file(e.source, rec)

    def _chunk_file(self, source: str, rec: Record) -> None:
        """Cut the file here and hash and write its chunks in the helper threads (the cut loop, BLAKE3 and the writes
        all run without the GIL), at most WINDOW chunks ahead; the chunk list keeps the file's order."""
        done: list[tuple[str, int]] = []
        pending: deque = deque()
        with mapped(source) as view:
            try:
                for data in cut(view) if view is not None else ():
                    pending.append(self.helpers.submit(self._put_view, data))
                    if len(pending) >= WINDOW:
                        done.append(pending.popleft().result())
                while pending:
                    done.append(pending.popleft().result())
            except BaseException:
                wait(pending)  # no chunk may still read the mapping when it closes
                raise
        chunks = [h for h, _ in done]
        rec.hash, rec.chunks, rec.size = file_hash_of(chunks), chunks, sum(n for _, n in done)

    def _put_view(self, data: memoryview) -> tuple[str, int]:
        try:
            h = digest(data)
            self._put(h, data)
            return h, len(data)
        finally:
            data.release()

    def _link_artifact(self, e: Entry, rec: Record, candidates: list[tuple[str, str]]) -> bool:
        found = matching_artifact(e.source, rec.size, candidates)
        if found is None:
            return False
        h, artifact = found
        with self.lock:
            known = h in self.sizes
        if not known and not self.objects.exists(h):
            if not self.objects.link(h, artifact):
                return False  # the filesystem cannot link: stored as any file
            with self.lock:
                self.written.add(h)
        self._note(h, rec.size, 1)
        rec.hash, rec.chunks = HASH_PREFIX + h, [h]
        return True

    def _note(self, h: str, size: int, linked: int) -> bool:
        """Record that the snapshot uses chunk ``h``; True when this take sees it for the first time."""
        with self.lock:
            if h in self.sizes:
                return False
            self.sizes[h] = (size, linked)
            return True

    def _put(self, h: str, data: bytes | memoryview) -> None:
        if self._note(h, len(data), 0) and not self.objects.exists(h):
            self.objects.write(h, data)
            with self.lock:
                self.written.add(h)

    # --------------------------------------------------------------------------------------------------- commit
    def _commit(
        self, root: str, notebook: str | None, paths: tuple[str, ...], created: float, records: list[Record]
    ) -> dict[str, Any]:
        snapshot_id = new_snapshot_id()
        records = [r for r in records if r.kind != "gone"]
        files = [r for r in records if r.kind != "dir"]
        total = sum(r.size for r in files)
        with self.store._conn() as c:
            new_bytes = 0
            for h, (size, linked) in self.sizes.items():
                cur = c.execute(
                    "INSERT OR IGNORE INTO chunks (hash, size, created, linked) VALUES (?,?,?,?)",
                    (h, size, created, linked),
                )
                if cur.rowcount == 1:
                    if h not in self.written and not self.objects.exists(h):
                        raise _Raced(h)
                    new_bytes += 0 if linked else size
            c.execute(
                "INSERT INTO snapshots (snapshot_id, notebook, root, paths, created, files, bytes, new_bytes) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (snapshot_id, notebook, root, json.dumps(list(paths)), created, len(files), total, new_bytes),
            )
            c.executemany(
                "INSERT INTO snapshot_files (snapshot_id, path, kind, size, mode, mtime_ns, ino, ctime_ns, target, "
                "hash, chunks) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [r.row(snapshot_id) for r in records],
            )
        return {
            "snapshot_id": snapshot_id,
            "run_ids": [],
            "created": created,
            "files": len(files),
            "bytes": total,
            "new_bytes": new_bytes,
            "root": root,
            "notebook": notebook,
        }

    def _clean_up(self) -> None:
        """Remove the objects this take wrote that no chunks row refers to (they would only take room)."""
        c = self.store._conn()
        for h in self.written:
            try:
                known = c.execute("SELECT 1 FROM chunks WHERE hash = ?", (h,)).fetchone() is not None
            except sqlite3.Error:
                known = True  # cannot tell: keep it (sweep removes orphans later)
            if not known:
                self.objects.remove(h)
