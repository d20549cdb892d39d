"""The store's SQLite connection: WAL mode, write transactions as ``with`` blocks, read snapshots, and StoreError.

Plain Python (sqlite3 only); never imports tornado or jupyter_server, nor anything else of kale_ext but its errors.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import KaleError


class StoreError(KaleError):
    status = 500
    code = "store.unavailable"


def connect(path: str) -> Connection:
    """A connection in autocommit mode (transactions are explicit), WAL journal, foreign keys on."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return Connection(conn)


class Connection:
    """A connection whose ``with`` block is one write transaction (BEGIN IMMEDIATE ... COMMIT/ROLLBACK), nestable.

    BEGIN IMMEDIATE takes the write lock up front, so two processes never both read and then both write on the
    strength of what they read (the schema migration relies on it); the busy timeout makes the second one wait.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.depth = 0

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, parameters)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self.conn.executemany(sql, rows)

    def __enter__(self) -> Connection:
        if self.depth == 0:
            self.conn.execute("BEGIN IMMEDIATE")
        self.depth += 1
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction: the queries inside see one state of the database (WAL gives readers a snapshot), so a
        record assembled from several queries is never half before and half after a driver's write. Inside a write
        transaction it is that transaction."""
        if self.depth:
            yield self
            return
        self.conn.execute("BEGIN DEFERRED")
        self.depth += 1
        try:
            yield self
        finally:
            self.depth -= 1
            self.conn.execute("COMMIT")
