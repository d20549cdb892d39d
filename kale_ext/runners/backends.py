"""Several backends at once: the runners a server offers (local, Kubeflow Pipelines, ...), by name, the default first.

Starting a run names its backend; every other operation on a run (get, cancel, log) is routed to the backend recorded
with the run (its ``runner``), whichever backend found it. Runs of every backend share one store per notebook, so a
listing is the union of what each backend lists, without duplicates. A backend that cannot run here (the kfp extra
missing, no host configured) is still listed, disabled, with its reason. Plain Python; never imports tornado or
jupyter_server.
"""

from __future__ import annotations

from typing import Any

from ..errors import KaleError, NotFoundError
from ..store import Store, store_dir_for
from .base import Runner, RunnerError


class BackendUnavailableError(RunnerError):
    code = "run.backend"


class Backends:
    def __init__(self, runners: list[Runner]) -> None:
        if not runners:
            raise ValueError("at least one backend is needed")
        self.runners: dict[str, Runner] = {}
        for runner in runners:
            self.runners.setdefault(runner.name, runner)
        self.default = runners[0].name

    def reason(self, name: str) -> str | None:
        """Why backend ``name`` cannot start runs (None: it can)."""
        runner = self.runners.get(name)
        if runner is None:
            known = ", ".join(self.runners)
            return f"this server has no backend {name!r} (it has: {known})"
        disabled = getattr(runner, "disabled_reason", None)
        return disabled() if callable(disabled) else None

    def info(self) -> list[dict[str, Any]]:
        out = []
        for name in self.runners:
            reason = self.reason(name)
            out.append({"name": name, "enabled": reason is None, "reason": reason})
        return out

    def capabilities(self) -> list[str]:
        """The union of every backend's capabilities, in order, without repeats."""
        seen: dict[str, None] = {}
        for runner in self.runners.values():
            seen.update(dict.fromkeys(runner.capabilities()))
        return list(seen)

    def runner(self, name: str | None = None) -> Runner:
        """The backend that starts a run; BackendUnavailableError (400) with the reason when it cannot."""
        name = name or self.default
        reason = self.reason(name)
        if reason is not None:
            raise BackendUnavailableError(f"Cannot run on backend {name!r}: {reason}.", details={"backend": name})
        return self.runners[name]

    # -------------------------------------------------------------------------------------------------- run routing
    def list_runs(self, notebook: str | None = None) -> list[dict[str, Any]]:
        runs: dict[str, dict[str, Any]] = {}
        for runner in self.runners.values():
            for run in runner.list_runs(notebook):
                runs.setdefault(run["run_id"], run)
        return sorted(runs.values(), key=lambda r: (r["created"], r["run_id"]), reverse=True)

    def owner(self, run_id: str) -> tuple[Runner, dict[str, Any]]:
        """The backend that owns the run, and the run's record (found through any backend that knows its store)."""
        _, owner, record = self._find(run_id)
        return owner, record

    def store_of(self, run_id: str) -> Store:
        """The store that holds the run: the one of the backend that found it (NotFoundError, 404, when none knows it).
        Not the run's notebook's store: a run of ``kale-ext runs reproduce`` stays in its original's store, beside
        which its notebook is restored (``<store>/reproductions/``). A backend that cannot say (no ``store_of``): the
        notebook's store, as the default backend opens it."""
        finder, _, record = self._find(run_id)
        store_of = getattr(finder, "store_of", None)
        if callable(store_of):
            return store_of(run_id)
        store_for = getattr(self.runners[self.default], "store_for", None)
        return store_for(record["notebook"]) if callable(store_for) else Store(store_dir_for(record["notebook"]))

    def _find(self, run_id: str) -> tuple[Runner, Runner, dict[str, Any]]:
        """The backend that found the run, the backend that owns it, and the run's record."""
        for runner in self.runners.values():
            try:
                record = runner.get_run(run_id)
            except NotFoundError:
                continue
            owner = self.runners.get(record.get("runner") or "local", runner)
            if owner is not runner:
                store_for = getattr(owner, "store_for", None)
                if callable(store_for):
                    store_for(record["notebook"])  # the owner opens (and, for kfp, re-attaches to) that store
            return runner, owner, record
        raise NotFoundError(f"No run {run_id!r} is known to this server.", code="run.not_found")

    def get_run(self, run_id: str) -> dict[str, Any]:
        owner, record = self.owner(run_id)
        try:
            return owner.get_run(run_id)
        except NotFoundError:
            return record

    def cancel(self, run_id: str) -> dict[str, Any]:
        owner, _ = self.owner(run_id)
        return owner.cancel(run_id)

    def read_log(self, run_id: str, step: str, offset: int = 0) -> tuple[str, int]:
        owner, _ = self.owner(run_id)
        return owner.read_log(run_id, step, offset)

    def close(self) -> None:
        errors: list[BaseException] = []
        for runner in self.runners.values():
            try:
                runner.close()
            except (KaleError, OSError, RuntimeError) as exc:  # one backend's failure must not keep the others open
                errors.append(exc)
        if errors:
            raise errors[0]
