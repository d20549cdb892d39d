"""The store's schema as an ordered list of migrations, numbered by SQLite's ``PRAGMA user_version``.

A store records the version it is at (0: empty, or made before versions were recorded). On open, the migrations after
that version run in one write transaction (BEGIN IMMEDIATE) that re-reads the version first, so two processes opening
the same old store at once migrate it once: the second waits for the first's lock, then finds nothing left to do. A
failed migration rolls back whole. A store of a newer version than this code knows is refused (StoreError), never
written to.

How a capability adds its tables (experiments and trials, served models, snapshots): append one ``Migration`` with the
next version number to ``MIGRATIONS`` (never edit or reorder a released one; they have already run on users' stores),
whose function creates its tables and indexes; add a test in tests/store/test_migrations.py that opens a store of the
previous version (tests/store/old_stores.py writes one). Nothing else changes: ``SCHEMA_VERSION`` follows the list.
For example, tuning's experiments and trials (a trial is a run, so it points at one; a run of any backend can be one):

    def _v3(c: Connection) -> None:
        c.execute("CREATE TABLE experiments (experiment_id TEXT PRIMARY KEY, runner TEXT NOT NULL, "
                  "external_id TEXT, spec TEXT NOT NULL, status TEXT NOT NULL, created REAL NOT NULL)")
        c.execute("CREATE TABLE trials (experiment_id TEXT NOT NULL REFERENCES experiments(experiment_id), "
                  "run_id TEXT NOT NULL REFERENCES runs(run_id), assignments TEXT NOT NULL, "
                  "PRIMARY KEY (experiment_id, run_id))")

    MIGRATIONS = (..., Migration(3, "experiments and their trials", _v3))

A migration must not read the clock, the environment or other files (it runs once per store, in whichever process opens
it first), and must work inside one transaction (no VACUUM, no PRAGMA journal_mode).

Plain Python (sqlite3 only); never imports tornado or jupyter_server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .connection import Connection, StoreError

# Version 1: the schema before versions were recorded (kale-ext up to issue 8), driver_signal included.
_V1_TABLES = (
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        notebook TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        status TEXT NOT NULL,
        created REAL NOT NULL,
        started REAL,
        finished REAL,
        parameters TEXT NOT NULL,      -- {name: python literal source}
        options TEXT NOT NULL,         -- {use_cache, fail_fast, max_parallel}
        plan TEXT NOT NULL,            -- [StepSpec JSON], enough to resume
        metric_sources TEXT NOT NULL,
        driver_pid INTEGER,
        driver_token TEXT,
        driver_signal TEXT,            -- the signal that makes the driver cancel the run (another process may send it)
        resumed_from TEXT,
        error TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS runs_notebook ON runs(notebook, created)",
    """CREATE TABLE IF NOT EXISTS steps (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        cached INTEGER NOT NULL DEFAULT 0,
        cached_from TEXT,              -- run_id whose outputs were reused
        cache_key TEXT,
        depends_on TEXT NOT NULL,
        started REAL,
        finished REAL,
        exit_code INTEGER,
        pid INTEGER,
        log_path TEXT,
        error TEXT,                    -- {type, message, cell, line, traceback}
        timings TEXT,
        PRIMARY KEY (run_id, name)
    )""",
    "CREATE INDEX IF NOT EXISTS steps_cache ON steps(cache_key, status)",
    """CREATE TABLE IF NOT EXISTS artifacts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        step TEXT NOT NULL,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        serializer TEXT NOT NULL,
        hash TEXT NOT NULL,
        size INTEGER NOT NULL,
        type TEXT NOT NULL,
        created REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS artifacts_step ON artifacts(run_id, step)",
    """CREATE TABLE IF NOT EXISTS lineage (          -- step (run_id, step) consumed artifact as input `name`
        run_id TEXT NOT NULL,
        step TEXT NOT NULL,
        name TEXT NOT NULL,
        artifact_id INTEGER NOT NULL REFERENCES artifacts(id)
    )""",
    "CREATE INDEX IF NOT EXISTS lineage_step ON lineage(run_id, step)",
    """CREATE TABLE IF NOT EXISTS metrics (
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        step TEXT,
        PRIMARY KEY (run_id, name)
    )""",
)


def _v1(c: Connection) -> None:
    """From nothing, or from a store made before versions were recorded (whose tables may predate driver_signal)."""
    for sql in _V1_TABLES:
        c.execute(sql)
    _add_column(c, "runs", "driver_signal", "TEXT")


def _v2(c: Connection) -> None:
    _add_column(c, "runs", "runner", "TEXT NOT NULL DEFAULT 'local'")  # "local", "kfp", ...
    _add_column(c, "runs", "external_id", "TEXT")  # the backend's id for the run (a KFP run id); NULL for local runs
    c.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS runs_external ON runs(runner, external_id) WHERE external_id IS NOT NULL"
    )
    c.execute("CREATE INDEX IF NOT EXISTS runs_unfinished ON runs(runner, status)")
    c.execute("CREATE INDEX IF NOT EXISTS runs_created ON runs(created)")


def _v3(c: Connection) -> None:
    # role: "output" (a variable later steps read) or "model" (a model the step bound that no later step reads, kept
    # for serving); kind: the serving kind of a model artifact of either role ("sklearn", ...), NULL for other values.
    _add_column(c, "artifacts", "role", "TEXT NOT NULL DEFAULT 'output'")
    _add_column(c, "artifacts", "kind", "TEXT")
    c.execute("CREATE INDEX IF NOT EXISTS artifacts_models ON artifacts(run_id, kind) WHERE kind IS NOT NULL")
    c.execute(
        """CREATE TABLE IF NOT EXISTS served_models (
            name TEXT NOT NULL,            -- the served name (a KServe InferenceService name)
            version TEXT NOT NULL,         -- "1", "2", ... per name, never reused
            run_id TEXT,                   -- lineage; NULL for a model deployed from a model directory
            step TEXT,
            variable TEXT,
            hash TEXT,                     -- the content hash of the model's artifact (or of its model file)
            kind TEXT NOT NULL,
            model_dir TEXT NOT NULL,
            traffic INTEGER NOT NULL,      -- percent of the name's requests; the live versions of a name sum to 100
            created REAL NOT NULL,
            stopped REAL,                  -- NULL while served
            PRIMARY KEY (name, version)
        )"""
    )
    c.execute("CREATE INDEX IF NOT EXISTS served_live ON served_models(stopped, name)")


def _v4(c: Connection) -> None:
    # Tuning (kale_ext/tuning): an experiment and its trials; a trial is a pipeline run (run_id) of any backend.
    c.execute(
        """CREATE TABLE IF NOT EXISTS experiments (
            experiment_id TEXT PRIMARY KEY,
            notebook TEXT NOT NULL,
            name TEXT NOT NULL,
            runner TEXT NOT NULL DEFAULT 'local',   -- "local", or "katib" for an Experiment created on a cluster
            external_id TEXT,                       -- Katib: "namespace/name"; NULL for local experiments
            spec TEXT NOT NULL,                     -- the Katib-shaped experiment (+ automl, seed) as run, JSON
            status TEXT NOT NULL,                   -- running succeeded failed cancelled interrupted
            created REAL NOT NULL,
            finished REAL,
            driver_pid INTEGER,                     -- the process driving a local experiment (interrupted when dead)
            driver_token TEXT,
            driver_signal TEXT,                     -- the signal on which the driver cancels it (others may send it)
            error TEXT,
            result TEXT                             -- JSON: best trial, AutoML's best family, why it stopped
        )"""
    )
    c.execute("CREATE INDEX IF NOT EXISTS experiments_notebook ON experiments(notebook, created)")
    c.execute(
        """CREATE TABLE IF NOT EXISTS trials (
            experiment_id TEXT NOT NULL REFERENCES experiments(experiment_id) ON DELETE CASCADE,
            trial INTEGER NOT NULL,                 -- 1, 2, ... in the order suggested
            run_id TEXT,                            -- the trial's pipeline run; NULL until it starts
            status TEXT NOT NULL,                   -- pending running succeeded failed cancelled interrupted
            parameters TEXT NOT NULL,               -- JSON {name: value} as suggested
            objective REAL,
            metrics TEXT,                           -- JSON {name: value}: the objective and additional metrics
            stage TEXT,                             -- AutoML: "families" or "tune"; NULL otherwise
            created REAL NOT NULL,
            finished REAL,
            PRIMARY KEY (experiment_id, trial)
        )"""
    )
    c.execute("CREATE INDEX IF NOT EXISTS trials_run ON trials(run_id)")


def _v5(c: Connection) -> None:
    # Workspace snapshots (kale_ext/snapshots): content-addressed chunks under <store>/objects, manifests here.
    c.execute(
        """CREATE TABLE IF NOT EXISTS snapshots (
            snapshot_id TEXT PRIMARY KEY,
            notebook TEXT,                          -- the notebook whose workspace it is (absolute path)
            root TEXT NOT NULL,                     -- the workspace folder the paths are relative to
            created REAL NOT NULL,
            files INTEGER NOT NULL,
            bytes INTEGER NOT NULL,                 -- total size of its files
            new_bytes INTEGER NOT NULL              -- what it added to the object store (0: nothing new)
        )"""
    )
    c.execute("CREATE INDEX IF NOT EXISTS snapshots_notebook ON snapshots(notebook, created)")
    c.execute(
        """CREATE TABLE IF NOT EXISTS snapshot_files (
            snapshot_id TEXT NOT NULL REFERENCES snapshots(snapshot_id) ON DELETE CASCADE,
            path TEXT NOT NULL,                     -- relative, "/"-separated
            size INTEGER NOT NULL,
            mode INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            hash TEXT NOT NULL,                     -- the whole file's content hash
            chunks TEXT NOT NULL,                   -- JSON [chunk hash, ...] in file order
            PRIMARY KEY (snapshot_id, path)
        )"""
    )
    c.execute(
        """CREATE TABLE IF NOT EXISTS chunks (
            hash TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            created REAL NOT NULL
        )"""
    )
    _add_column(c, "runs", "snapshot_id", "TEXT")  # the workspace snapshot taken for the run
    c.execute("CREATE INDEX IF NOT EXISTS runs_snapshot ON runs(snapshot_id) WHERE snapshot_id IS NOT NULL")


def _add_column(c: Connection, table: str, column: str, declaration: str) -> None:
    """ALTER TABLE ... ADD COLUMN unless the column exists: a store at version 0 may come from any earlier kale-ext,
    whose tables may already have some of the later columns. Names and declarations are this module's constants."""
    if column not in {r["name"] for r in c.execute(f"PRAGMA table_info({table})")}:
        c.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


@dataclass(frozen=True)
class Migration:
    version: int
    summary: str
    apply: Callable[[Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, steps, artifacts, lineage, metrics", _v1),
    Migration(2, "runs carry their backend and its id for them; indexes for unfinished and newest runs", _v2),
    Migration(3, "artifacts carry their role and model kind; the served models and their versions", _v3),
    Migration(4, "tuning experiments and their trials", _v4),
    Migration(5, "workspace snapshots, their files and the content-addressed chunks", _v5),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def user_version(c: Connection) -> int:
    return int(c.execute("PRAGMA user_version").fetchone()[0])


def migrate(c: Connection, where: str) -> int:
    """Bring the store at ``where`` (its folder, for messages) to SCHEMA_VERSION; returns the version found."""
    found = user_version(c)
    _refuse_newer(found, where)
    if found == SCHEMA_VERSION:
        return found
    with c:
        found = user_version(c)  # another process may have migrated it while we waited for the lock
        _refuse_newer(found, where)
        for migration in MIGRATIONS[found:]:
            migration.apply(c)
        c.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")  # a pragma takes no parameter; an int constant
    return found


def _refuse_newer(found: int, where: str) -> None:
    if found < 0:
        raise StoreError(
            f"The run store at {where} has schema version {found}, which no kale-ext writes: it is not a kale-ext "
            "store. Fix: set KALE_EXT_HOME to another folder.",
            code="store.foreign",
            details={"folder": where, "version": found, "supported": SCHEMA_VERSION},
        )
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"The run store at {where} has schema version {found}, newer than this kale-ext knows (up to version "
            f"{SCHEMA_VERSION}); it was written by a later kale-ext. Fix: upgrade kale-ext, or set KALE_EXT_HOME to "
            "another folder.",
            code="store.too_new",
            details={"folder": where, "version": found, "supported": SCHEMA_VERSION},
        )
