"""SnapshotStore: the workspace snapshots of one run store (take, list, show, diff, restore, verify, gc support).

Objects (the chunks) live under ``<store.folder>/objects/`` (objects.py); the manifests in the store's database
(schema v5: snapshots, snapshot_files, chunks; runs.snapshot_id links a run to its snapshot). A snapshot id may be
given whole or by a unique prefix. ``diff(a)`` compares ``a`` with the snapshot of the same root taken before it;
``diff(a, b)`` two snapshots; ``diff(a, workspace=True)`` ``a`` with the live workspace (unchanged files found by the
same stat fast path as take, the others hashed, nothing stored).

For gc (kale-ext gc, store info): ``delete(ids)`` removes snapshots (their runs keep running records, snapshot_id
cleared), ``sweep()`` removes the chunks no remaining snapshot refers to (rows and files, under the write lock, so a
concurrent take either sees the chunk gone and writes it again or commits first and keeps it) and orphaned objects
older than an hour (left by a take that was killed), ``sizes()`` the bytes by category.

Plain Python; never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterable, Sequence
from typing import Any

from .chunking import file_hash
from .errors import SnapshotError
from .objects import Objects
from .restore import restore_files, verify_objects
from .take import Taker
from .workspace import scan

ORPHAN_AGE = 3600.0
Rows = list[Any]  # sqlite3.Row lists (the class below has a method named list, so its annotations use these aliases)
Paths = list[str]
Damage = list[dict[str, Any]]
_LIST_COLUMNS = "snapshot_id, created, files, bytes, new_bytes, root, notebook"


class SnapshotStore:
    def __init__(self, store: Any) -> None:
        self.store = store
        self.objects = Objects(store.folder)

    def _conn(self):
        return self.store._conn()

    # ---------------------------------------------------------------------------------------------------- take
    def take(self, root: str, *, notebook: str | None = None, paths: Sequence[str] = ()) -> dict[str, Any]:
        """Snapshot the folder ``root`` (and the further ``paths``); returns the list entry of the new snapshot."""
        root = os.path.realpath(os.path.expanduser(root))
        nb = None if notebook is None else os.path.abspath(notebook)
        return Taker(self.store, self.objects).take(root, nb, tuple(paths))

    # ---------------------------------------------------------------------------------------------------- reads
    def list(self, notebook: str | None = None) -> list[dict[str, Any]]:
        """Newest first: [{"snapshot_id", "run_ids", "created", "files", "bytes", "new_bytes", "root", "notebook"}]."""
        c = self._conn()
        with c.snapshot():
            if notebook is None:
                rows = c.execute(f"SELECT {_LIST_COLUMNS} FROM snapshots ORDER BY created DESC").fetchall()
            else:
                rows = c.execute(
                    f"SELECT {_LIST_COLUMNS} FROM snapshots WHERE notebook = ? ORDER BY created DESC",
                    (os.path.abspath(notebook),),
                ).fetchall()
            runs: dict[str, list[str]] = {}
            for r in c.execute(
                "SELECT snapshot_id, run_id FROM runs WHERE snapshot_id IS NOT NULL ORDER BY created, run_id"
            ):
                runs.setdefault(r["snapshot_id"], []).append(r["run_id"])
        return [{**dict(r), "run_ids": runs.get(r["snapshot_id"], [])} for r in rows]

    def resolve(self, snapshot_id: str) -> str:
        """The full id of the snapshot ``snapshot_id`` names (whole, or a unique prefix)."""
        c = self._conn()
        if c.execute("SELECT 1 FROM snapshots WHERE snapshot_id = ?", (snapshot_id,)).fetchone():
            return snapshot_id
        like = snapshot_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = c.execute("SELECT snapshot_id FROM snapshots WHERE snapshot_id LIKE ? ESCAPE '\\'", (like,)).fetchall()
        if len(rows) == 1 and snapshot_id:
            return rows[0]["snapshot_id"]
        hint = "it matches several; give more of it" if len(rows) > 1 else "`kale-ext snapshots list` shows them"
        raise SnapshotError(
            f"No snapshot {snapshot_id!r} in the store {self.store.folder} ({hint}).",
            code="snapshot.not_found",
            details={"snapshot_id": snapshot_id},
        )

    def _row(self, snapshot_id: str) -> dict[str, Any]:
        sid = self.resolve(snapshot_id)
        row = dict(self._conn().execute("SELECT * FROM snapshots WHERE snapshot_id = ?", (sid,)).fetchone())
        row["paths"] = json.loads(row["paths"])
        return row

    def _files(self, snapshot_id: str) -> Rows:
        return (
            self._conn()
            .execute("SELECT * FROM snapshot_files WHERE snapshot_id = ? ORDER BY path", (snapshot_id,))
            .fetchall()
        )

    def show(self, snapshot_id: str) -> dict[str, Any]:
        """The list entry + "paths" (the further paths) + "files": [{"path", "kind", "size", "mode", "hash"}]."""
        row = self._row(snapshot_id)
        sid = row["snapshot_id"]
        entry = next(e for e in self.list(row["notebook"]) if e["snapshot_id"] == sid) if row["notebook"] else None
        if entry is None:
            entry = next(e for e in self.list() if e["snapshot_id"] == sid)
        files = [
            {
                "path": f["path"],
                "kind": f["kind"],
                "size": f["size"],
                "mode": stat.S_IMODE(f["mode"]),
                "hash": f["hash"],
            }
            | ({"target": f["target"]} if f["kind"] == "link" else {})
            for f in self._files(sid)
            if f["kind"] != "dir"
        ]
        return {**entry, "paths": row["paths"], "files": files}

    # ---------------------------------------------------------------------------------------------------- diff
    def diff(self, a: str, b: str | None = None, *, workspace: bool = False) -> dict[str, Paths]:
        """{"added", "removed", "changed"}: relative paths, sorted; a change of content, kind, link target or mode."""
        old_row = self._row(a)
        old = _signatures(self._files(old_row["snapshot_id"]))
        if workspace:
            new = self._workspace_signatures(old_row, self._files(old_row["snapshot_id"]))
        elif b is not None:
            new = _signatures(self._files(self.resolve(b)))
        else:
            before = (
                self._conn()
                .execute(
                    "SELECT snapshot_id FROM snapshots WHERE root = ? AND created < ? ORDER BY created DESC LIMIT 1",
                    (old_row["root"], old_row["created"]),
                )
                .fetchone()
            )
            new, old = old, ({} if before is None else _signatures(self._files(before["snapshot_id"])))
        return {
            "added": sorted(set(new) - set(old)),
            "removed": sorted(set(old) - set(new)),
            "changed": sorted(p for p in set(old) & set(new) if old[p] != new[p]),
        }

    def _workspace_signatures(self, row: dict[str, Any], files: Rows) -> dict[str, tuple[Any, ...]]:
        known = {f["path"]: f for f in files}
        out = {}
        for e in scan(row["root"], skip=[self.store.folder], paths=row["paths"]):
            if e.kind == "dir":
                continue
            mode = stat.S_IMODE(e.st.st_mode)
            if e.kind == "link":
                out[e.path] = ("link", e.target, mode)
                continue
            f = known.get(e.path)
            if f is not None and f["kind"] == "file" and f["ctime_ns"] != -1:
                if (f["size"], f["mtime_ns"], f["ino"], f["ctime_ns"]) == (
                    e.st.st_size,
                    e.st.st_mtime_ns,
                    e.st.st_ino,
                    e.st.st_ctime_ns,
                ):
                    out[e.path] = ("file", f["hash"], mode)
                    continue
            out[e.path] = ("file", file_hash(e.source, f["hash"] if f is not None else ""), mode)
        return out

    # ------------------------------------------------------------------------------------------ restore, verify
    def restore(self, snapshot_id: str, to: str, *, force: bool = False) -> dict[str, Any]:
        """Write the snapshot's files into the folder ``to`` (every file verified); {"snapshot_id", "folder",
        "files", "bytes"}. A non-empty ``to`` is refused unless ``force``."""
        sid = self.resolve(snapshot_id)
        return restore_files(self.objects, sid, self._files(sid), os.path.expanduser(to), force)

    def verify(self) -> Damage:
        """Damage: [{"snapshot_id", "path", "chunk", "problem"}]; empty when every snapshot's chunks are intact."""
        return verify_objects(self._conn(), self.objects)

    # ---------------------------------------------------------------------------------------------- gc support
    def delete(self, snapshot_ids: Iterable[str]) -> int:
        """Delete these snapshots (their file rows too; their runs' snapshot_id cleared); returns how many."""
        ids = list(snapshot_ids)
        n = 0
        with self._conn() as c:
            for sid in ids:
                c.execute("UPDATE runs SET snapshot_id = NULL WHERE snapshot_id = ?", (sid,))
                n += c.execute("DELETE FROM snapshots WHERE snapshot_id = ?", (sid,)).rowcount
        return n

    def sweep(self) -> dict[str, int]:
        """Remove the chunks no snapshot refers to, and orphaned objects; {"chunks", "bytes"} removed."""
        chunks = removed = 0
        with self._conn() as c:
            rows = c.execute(
                "SELECT hash, size FROM chunks WHERE hash NOT IN "
                "(SELECT DISTINCT j.value FROM snapshot_files f, json_each(f.chunks) j)"
            ).fetchall()
            for r in rows:
                c.execute("DELETE FROM chunks WHERE hash = ?", (r["hash"],))
                self.objects.remove(r["hash"])
                chunks += 1
                removed += r["size"]
            known = {r["hash"] for r in c.execute("SELECT hash FROM chunks")}
            old = time.time() - ORPHAN_AGE
            for name, path, st in list(self.objects.walk()):
                if name not in known and st.st_mtime < old:
                    os.unlink(path)
                    if not name.startswith(".tmp-"):
                        chunks += 1
                    removed += st.st_size
        return {"chunks": chunks, "bytes": removed}

    def sizes(self) -> dict[str, int]:
        """Bytes by category: "snapshot_objects" (stored chunks, written by the snapshots), "snapshot_linked" (objects
        that are hard links of run artifacts: on disk once, with the artifact), "snapshot_logical" (what the
        snapshots' files add up to before dedup), and the counts "snapshots" and "chunks"."""
        c = self._conn()
        with c.snapshot():
            objects = c.execute(
                "SELECT count(*) AS n, coalesce(sum(CASE WHEN linked THEN 0 ELSE size END), 0) AS own, "
                "coalesce(sum(CASE WHEN linked THEN size ELSE 0 END), 0) AS linked FROM chunks"
            ).fetchone()
            snaps = c.execute("SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM snapshots").fetchone()
        return {
            "snapshot_objects": objects["own"],
            "snapshot_linked": objects["linked"],
            "snapshot_logical": snaps["b"],
            "snapshots": snaps["n"],
            "chunks": objects["n"],
        }


def _signatures(rows: Iterable[Any]) -> dict[str, tuple[Any, ...]]:
    return {
        r["path"]: (r["kind"], r["target"] if r["kind"] == "link" else r["hash"], stat.S_IMODE(r["mode"]))
        for r in rows
        if r["kind"] != "dir"
    }
