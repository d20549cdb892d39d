"""Which run store holds a run: the store named by the caller, else the stores a user's session would use.

``explore.load(run_id, step)`` in a kernel and ``kale-ext lineage RUN_ID`` in a shell must find the run without being
told where the store is, as ``kale-ext runs show`` does: ``$KALE_EXT_HOME`` when set, else ``.kale/`` in the current
folder, then in each parent folder (a kernel of a notebook in a sub-folder of the workspace still finds the
workspace's store). ``store=`` (a folder or a Store) overrides the search. Plain Python; never imports tornado or
jupyter_server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from ..errors import NotFoundError
from ..store import Store
from ..store.db import ENV_HOME

DB_FILE = "kale.db"


def candidate_folders(start: str | None = None) -> Iterator[str]:
    """The store folders to look in, in order: $KALE_EXT_HOME, then ``.kale`` in ``start`` (default: the current
    folder) and in each of its parents. Only folders holding a store (kale.db) are yielded."""
    home = os.environ.get(ENV_HOME)
    if home:
        folder = os.path.abspath(os.path.expanduser(home))
        if os.path.isfile(os.path.join(folder, DB_FILE)):
            yield folder
    here = os.path.abspath(start or os.getcwd())
    while True:
        folder = os.path.join(here, ".kale")
        if os.path.isfile(os.path.join(folder, DB_FILE)):
            yield folder
        parent = os.path.dirname(here)
        if parent == here:
            return
        here = parent


def open_store(store: str | os.PathLike[str] | Store) -> Store:
    """A Store from a Store or a folder; a folder without a store is a NotFoundError (never an empty new store)."""
    if isinstance(store, Store):
        return store
    folder = os.path.abspath(os.fspath(store))
    if not os.path.isfile(os.path.join(folder, DB_FILE)):
        raise NotFoundError(
            f"No run store at {folder} (expected {os.path.join(folder, DB_FILE)}). Fix: pass the folder of the store "
            "that holds the run (the '.kale' folder beside its notebook, or $KALE_EXT_HOME).",
            code="store.not_found",
            details={"folder": folder},
        )
    return Store(folder)


def find_store(
    holds: Callable[[Store], bool],
    what: str,
    store: str | os.PathLike[str] | Store | None = None,
    *,
    code: str = "run.not_found",
) -> Store:
    """The store (given, or the first candidate folder) for which ``holds(store)`` is true; a NotFoundError naming
    ``what`` and every folder looked in otherwise."""
    if store is not None:
        found = open_store(store)
        if holds(found):
            return found
        raise NotFoundError(
            f"No {what} in the run store {found.folder}.", code=code, details={"folders": [found.folder]}
        )
    looked: list[str] = []
    for folder in candidate_folders():
        candidate = Store(folder)
        if holds(candidate):
            return candidate
        looked.append(folder)
    where = ", ".join(looked) if looked else "none found"
    raise NotFoundError(
        f"No {what} in the run stores looked in ({where}; searched ${ENV_HOME}, then .kale in {os.getcwd()} and its "
        "parents). Fix: name the folder of the store that holds it (store= in Python, --store on the command line).",
        code=code,
        details={"folders": looked},
    )


def store_of_run(run_id: str, store: str | os.PathLike[str] | Store | None = None) -> Store:
    return find_store(lambda s: s.has_run(run_id), f"run {run_id!r}", store)
