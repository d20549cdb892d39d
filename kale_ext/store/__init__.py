"""Run history in SQLite (WAL mode): runs, steps, status, timings, parameters, metrics, artifacts, lineage.

``Store(folder)`` opens ``folder/kale.db``; ``store_dir_for(notebook)`` is the default folder (``.kale/`` beside the
notebook, or ``$KALE_EXT_HOME``). Plain Python (sqlite3 only); never imports tornado or jupyter_server.
"""

from .db import RUN_FINAL, STEP_FINAL, Store, store_dir_for

__all__ = ["RUN_FINAL", "STEP_FINAL", "Store", "store_dir_for"]
