"""Run history in SQLite (WAL mode): runs, steps, status, timings, parameters, metrics, artifacts, lineage.

``Store(folder)`` opens ``folder/kale.db`` and migrates its schema (schema.py); ``store_dir_for(notebook)`` is the
default folder (``.kale/`` beside the notebook, or ``$KALE_EXT_HOME``). Modules: connection.py (the connection,
transactions, StoreError), schema.py (migrations by ``PRAGMA user_version``), db.py (Store: writes, cache lookups,
recovery), records.py (the run records, in a fixed number of queries), served.py (model artifacts of runs and the
served models' versions and traffic), experiments.py (tuning experiments and their trials). Plain Python (sqlite3 only); never imports
tornado or jupyter_server.
"""

from .connection import StoreError
from .db import RUN_FINAL, STEP_FINAL, Store, store_dir_for
from .schema import SCHEMA_VERSION

__all__ = ["RUN_FINAL", "SCHEMA_VERSION", "STEP_FINAL", "Store", "StoreError", "store_dir_for"]
