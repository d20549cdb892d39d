"""Lineage of runs, artifacts and workspace snapshots, and its export as ML Metadata (MLMD).

graph.py answers the lineage of a run id, an artifact hash or a snapshot id from the store; mlmd.py exports a run's
as MLMD's LineageGraph (protobuf JSON); mlmd_load.py loads such a file into an MLMD store (run it with an interpreter
that has ml-metadata); stores.py finds the store that holds a run. Plain Python; never imports tornado or
jupyter_server.
"""

from .graph import artifact_lineage, code_hash, lineage, run_lineage, snapshot_lineage

__all__ = ["artifact_lineage", "code_hash", "lineage", "run_lineage", "snapshot_lineage"]
