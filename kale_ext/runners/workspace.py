"""A run's workspace and its snapshot: which folder and paths a run's snapshot covers, whether one is taken, taking it.

Every run (local, and before a Kubeflow Pipelines submission) records a snapshot of its workspace: the notebook's folder
plus the extra paths of the notebook setting ``metadata.kale_ext.workspace = {"paths": [...], "snapshot": true}``
(paths relative to the notebook's folder, or absolute). A run takes none when any of these says no: the run's option
(``RunOptions.snapshot``; ``kale-ext run --no-snapshot``), the notebook setting ``workspace.snapshot = false``, or the
runner (LocalRunner trait ``snapshots``, default from ``$KALE_EXT_SNAPSHOTS``: "0" turns them off).

The snapshot engine is kale_ext.snapshots (SnapshotStore), imported on first use so that a run without a snapshot
never loads it. Plain Python; never imports tornado or jupyter_server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..errors import KaleError

ENV_SNAPSHOTS = "KALE_EXT_SNAPSHOTS"


class WorkspaceSettingError(KaleError):
    status = 400
    code = "workspace.invalid"


@dataclass(frozen=True)
class Workspace:
    """The folder a run's snapshot is taken of (``root``, the notebook's folder) and the extra ``paths`` it covers."""

    root: str
    notebook: str
    paths: tuple[str, ...] = ()


def snapshots_default() -> bool:
    """$KALE_EXT_SNAPSHOTS unset or anything but "0"/"false"/"no"/"off": snapshots are on."""
    return os.environ.get(ENV_SNAPSHOTS, "1").strip().lower() not in ("0", "false", "no", "off")


def workspace_of(notebook_path: str, settings: dict[str, Any]) -> Workspace | None:
    """The run's workspace, or None when the notebook's setting ``workspace.snapshot`` is false. A malformed setting
    raises WorkspaceSettingError (the run does not start)."""
    notebook = os.path.abspath(notebook_path)
    raw = settings.get("workspace")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise WorkspaceSettingError(
            f"The notebook setting kale_ext.workspace must be an object like "
            f'{{"paths": ["../data"], "snapshot": true}}, got {type(raw).__name__}.'
        )
    snapshot = raw.get("snapshot", True)
    if not isinstance(snapshot, bool):
        raise WorkspaceSettingError(f"kale_ext.workspace.snapshot must be true or false, got {snapshot!r}.")
    if not snapshot:
        return None
    paths = raw.get("paths", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) and p.strip() for p in paths):
        raise WorkspaceSettingError(
            f"kale_ext.workspace.paths must be a list of paths (relative to the notebook's folder), got {paths!r}."
        )
    return Workspace(root=os.path.dirname(notebook), notebook=notebook, paths=tuple(paths))


def take_snapshot(store: Any, workspace: Workspace) -> str:
    """Snapshot ``workspace`` into ``store`` (a kale_ext.store.Store); the snapshot's id. Raises SnapshotError (e.g.
    snapshot.disk_full) when it cannot be taken; the snapshot store stays consistent (the engine's guarantee)."""
    from ..snapshots import SnapshotStore

    entry = SnapshotStore(store).take(workspace.root, notebook=workspace.notebook, paths=list(workspace.paths))
    return entry["snapshot_id"]
