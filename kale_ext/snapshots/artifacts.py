"""Dedup of workspace files with the run artifacts: which artifact, if any, a workspace file's bytes equal.

Run artifacts stay where the runner writes them (``runs/<run>/<step>/``: the cache and step exploration read them
there) and carry the sha256 of their bytes. Only artifacts of finished runs are candidates (a finished run's files are
never rewritten: a resume is a new run), and only a workspace file of an artifact's exact size is hashed with sha256
to compare, so the check costs nothing for other files. The snapshot then makes its object a hard link of the
artifact's file (take.py): the bytes are on disk once, and stay when gc deletes the run.

Plain Python plus blake3; never imports tornado or jupyter_server.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import blake3

Candidates = dict[int, list[tuple[str, str]]]  # size -> [(artifact hash "sha256:<hex>", artifact path)]
_BLOCK = 1 << 20


def finished_artifacts(conn: Any) -> Candidates:
    rows = conn.execute(
        "SELECT a.size, a.hash, a.path FROM artifacts a JOIN runs r ON r.run_id = a.run_id "
        "WHERE r.status IN ('succeeded', 'failed', 'cancelled', 'interrupted') AND a.size > 0"
    )
    out: Candidates = {}
    for r in rows:
        out.setdefault(r["size"], []).append((r["hash"], r["path"]))
    return out


def matching_artifact(path: str, size: int, candidates: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(the BLAKE3 hex of the file's bytes, the path of an artifact file with the same bytes), or None."""
    sha, b3 = hashlib.sha256(), blake3.blake3()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            sha.update(block)
            b3.update(block)
    wanted = "sha256:" + sha.hexdigest()
    for art_hash, art_path in candidates:
        if art_hash == wanted and os.path.isfile(art_path) and os.path.getsize(art_path) == size:
            return b3.hexdigest(), art_path
    return None
