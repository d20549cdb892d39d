"""The ServingManager factory the REST handlers use: one manager per store folder, built on first use.

Served models live with the runs they came from: ``<store folder>/serving/`` (serving-contracts.md, contract 2). A
notebook's store is the runner's (``LocalRunner.store_for``: ``store_dir``, ``$KALE_EXT_HOME`` or ``.kale/`` beside
the notebook), so the sidebar, the CLI and the runs share one model server per store. KaleExtApp builds one
ServingManagers at start-up and hands it to the handlers through ``settings["kale_ext_serving"]``; the manager class
is an admin setting (``c.KaleExtApp.serving_manager_class``), as the runner class is.

Also here: reading each version's kale-model.json (its tensors, for the Models panel's sample request). Plain Python:
this module imports nothing from tornado or jupyter_server (the handlers in models.py do).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import KaleError
from ..store import Store, store_dir_for

SERVING_SETTING = "kale_ext_serving"
CARD_FILE = "kale-model.json"
CARD_MAX_BYTES = 1 << 20  # a model card is a few hundred bytes; a bigger file is not one


class ServingUnavailableError(KaleError):
    """The server was started without a serving manager (its class could not be imported)."""

    status = 503
    code = "serving.unavailable"


class ServingManagers:
    """``for_notebook(path)`` / ``for_run(run_id)``: the ServingManager of that store folder (one per folder)."""

    def __init__(
        self,
        manager_class: Callable[..., Any],
        runner: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
    ) -> None:
        self.manager_class = manager_class
        self.runner = runner
        self.host = host
        self.port = port
        self._managers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def store_for(self, notebook_path: str) -> Store:
        """The notebook's run store: the runner's own object when it has one (shared connections), else the default."""
        store_for = getattr(self.runner, "store_for", None)
        return store_for(notebook_path) if callable(store_for) else Store(store_dir_for(notebook_path))

    def for_notebook(self, notebook_path: str) -> Any:
        return self._manager(self.store_for(notebook_path))

    def for_run(self, run_id: str) -> Any:
        """The manager of the store that holds ``run_id`` (a NotFoundError, 404, when no store known here has it): the
        runner's ``store_of``, not the run's notebook's store (a reproduced run stays in its original's store, its
        notebook restored under ``<store>/reproductions/``)."""
        store_of = getattr(self.runner, "store_of", None)
        if callable(store_of):
            return self._manager(store_of(run_id))
        return self.for_notebook(self.runner.get_run(run_id)["notebook"])

    def _manager(self, store: Store) -> Any:
        with self._lock:
            manager = self._managers.get(store.folder)
            if manager is None:
                manager = self._managers[store.folder] = self.manager_class(store, host=self.host, port=self.port)
            return manager


def read_cards(model_dirs: Iterable[str | None]) -> dict[str, Mapping[str, Any]]:
    """Each model directory's kale-model.json, by directory; a missing or unreadable card is left out (the panel then
    builds no sample request for that version, and says so)."""
    cards: dict[str, Mapping[str, Any]] = {}
    for model_dir in model_dirs:
        if not model_dir or model_dir in cards:
            continue
        path = os.path.join(model_dir, CARD_FILE)
        try:
            if os.path.getsize(path) > CARD_MAX_BYTES:
                continue
            with open(path, encoding="utf-8") as f:
                card = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(card, dict):
            cards[model_dir] = card
    return cards


def model_dirs_of(models: Iterable[Mapping[str, Any]]) -> list[str | None]:
    return [v.get("model_dir") for m in models for v in m.get("versions") or []]
