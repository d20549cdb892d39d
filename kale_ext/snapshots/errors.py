"""SnapshotError: what the snapshot store raises (codes below), a KaleError so the CLI prints one line and exits 2.

Codes: snapshot.not_found (an unknown snapshot id), snapshot.target_not_empty (restore into a non-empty folder without
force), snapshot.corrupt (a chunk missing or damaged: details name the file), snapshot.disk_full (ENOSPC while
writing the store), snapshot.workspace_missing (the folder to snapshot or to diff against does not exist),
snapshot.unreadable (a workspace file or folder that cannot be read: details name it), snapshot.store_unwritable.
Plain Python; never imports tornado or jupyter_server.
"""

from __future__ import annotations

from ..errors import KaleError


class SnapshotError(KaleError):
    status = 400
    code = "snapshot.error"
