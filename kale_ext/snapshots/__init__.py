"""Content-addressed workspace snapshots: what a run's workspace held, restorable byte for byte.

``SnapshotStore(store)`` (store.py) takes, lists, shows, diffs, restores and verifies the snapshots of one run store;
``store.update_run(run_id, snapshot_id=...)`` ties a run to its snapshot. Modules: workspace.py (what a snapshot
contains: the walk, ``.kaleignore``), take.py (taking one: the stat fast path, content-defined chunking, the commit),
objects.py (the object folder: atomic writes, BLAKE3), restore.py (restore and verify), errors.py (SnapshotError).

Dedup design. The object store holds chunks by hash, shared by every snapshot of the store: an unchanged file is not
even read (its previous chunk list is reused), a changed large file is re-cut by content-defined chunking and only its
new chunks are written. Run artifacts stay where the runner writes them (``runs/<run>/<step>/``; the cache and
exploration read them there); a workspace file whose content equals an artifact of a finished run (sha256, the
artifacts' own hash, compared only for files of an artifact's exact size) becomes an object that is a hard link of
that artifact file, so its bytes are on disk once and survive the run's deletion by gc.

Plain Python (blake3, pyfastcdc, pathspec); never imports tornado or jupyter_server.
"""

from .errors import SnapshotError
from .store import SnapshotStore

__all__ = ["SnapshotError", "SnapshotStore"]
