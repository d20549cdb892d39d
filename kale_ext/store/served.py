"""The store's records of models: the model artifacts of runs, and the models served from them (versions, traffic).

A mixin of Store (db.py): it uses only ``self._conn()`` and ``self.folder``. A served model is one row per (name,
version) in ``served_models`` (migration 3), with its lineage (run, step, variable, content hash), its model
directory and its share of the name's traffic; a stopped version keeps its row (``stopped`` set), so version numbers
are never reused. Plain Python (sqlite3 only); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import time
from typing import Any

from .connection import Connection

SERVED_COLUMNS = ("name", "version", "run_id", "step", "variable", "hash", "kind", "model_dir", "traffic", "created")


class ServedModels:
    folder: str

    def _conn(self) -> Connection:  # pragma: no cover - Store defines it
        raise NotImplementedError

    def served_transaction(self) -> Connection:
        """A write transaction (``with store.served_transaction(): ...``) in which the served versions read and the
        changes made are one: two processes deploying under one name at once get distinct versions."""
        return self._conn()

    def model_artifacts(self, run_id: str) -> list[dict[str, Any]]:
        """The model-typed artifacts of the run's succeeded (or cached) steps, in the run's step order."""
        rows = self._conn().execute(
            "SELECT a.id, a.step, a.name, a.path, a.serializer, a.hash, a.size, a.type, a.role, a.kind "
            "FROM artifacts a JOIN steps s ON s.run_id = a.run_id AND s.name = a.step "
            "WHERE a.run_id = ? AND a.kind IS NOT NULL AND s.status IN ('succeeded', 'cached') "
            "ORDER BY s.position, a.id",
            (run_id,),
        )
        return [dict(r) for r in rows]

    def served_versions(self, name: str | None = None, *, live: bool = True) -> list[dict[str, Any]]:
        """The served versions (only those not stopped unless ``live`` is False), by name then version number."""
        where = ["1 = 1"]
        params: list[Any] = []
        if name is not None:
            where.append("name = ?")
            params.append(name)
        if live:
            where.append("stopped IS NULL")
        rows = self._conn().execute(
            f"SELECT * FROM served_models WHERE {' AND '.join(where)} ORDER BY name, CAST(version AS INTEGER)", params
        )
        return [dict(r) for r in rows]

    def next_served_version(self, name: str) -> str:
        row = (
            self._conn()
            .execute("SELECT max(CAST(version AS INTEGER)) AS v FROM served_models WHERE name = ?", (name,))
            .fetchone()
        )
        return str((row["v"] or 0) + 1)

    def update_served(
        self,
        name: str,
        *,
        add: dict[str, Any] | None = None,
        traffic: dict[str, int] | None = None,
        stop: list[str] | tuple[str, ...] = (),
    ) -> None:
        """In one transaction: add a version (a dict of SERVED_COLUMNS but "created"), set the traffic of versions,
        stop versions."""
        now = time.time()
        with self._conn() as c:
            if add is not None:
                row = {**add, "name": name, "created": now}
                c.execute(
                    f"INSERT INTO served_models ({', '.join(SERVED_COLUMNS)}) VALUES ({', '.join('?' * len(SERVED_COLUMNS))})",
                    [row.get(k) for k in SERVED_COLUMNS],
                )
            for version, percent in (traffic or {}).items():
                c.execute(
                    "UPDATE served_models SET traffic = ? WHERE name = ? AND version = ?", (int(percent), name, version)
                )
            for version in stop:
                c.execute(
                    "UPDATE served_models SET stopped = ?, traffic = 0 WHERE name = ? AND version = ? "
                    "AND stopped IS NULL",
                    (now, name, version),
                )

    def stop_all_served(self) -> None:
        with self._conn() as c:
            c.execute("UPDATE served_models SET stopped = ?, traffic = 0 WHERE stopped IS NULL", (time.time(),))
