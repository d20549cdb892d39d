"""ServingManager: deploys models to the workspace's local model server, keeps their versions and traffic split, and
reports what the server serves. The CLI (`kale-ext serve`) and the REST handlers both use it.

The store is the record (``served_models``: each version with its lineage, model directory and traffic share);
``<store>/serving/state.json`` is the server's view of it (contract 2), rewritten atomically after every change, after
which the running server is told to reload (SIGHUP; it also watches the file's mtime). The server is started on the
first deploy (process.py) and left running. Versions follow KServe's canary rollout: a deploy with a canary percent
keeps the current version and gives the new one that share (one canary at a time: a newer canary replaces the older);
a deploy without one, as KServe's default rollout, makes the new version take all traffic and retires the others;
promote gives the newest version all traffic and retires the others; rollback retires the newest version and gives its
share back. Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from ..errors import ConflictError, InvalidRequestError, NotFoundError
from . import observe, process
from .process import ServerProcess, ServerStartError, read_server
from .sources import check_loads, export_from_run, servable

# The method ServingManager.list shadows the builtin inside the class: its annotations use these.
Rows = list[dict[str, Any]]
Lines = list[str]
NAME_RE = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")  # a KServe InferenceService name (DNS-1035 label)


class ServingManager:
    def __init__(
        self,
        store: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        server_command: tuple[str, ...] | list[str] | None = None,
        server_args: list[str] | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        """``server_command``: the server program and its leading arguments (default: process.DEFAULT_COMMAND,
        ``python -m kale_ext.serving.server``); ``server_args``: its limits, e.g. ["--max-body-bytes", "1048576"]."""
        self.store = store
        self.host = host
        self.port = int(port)
        self.folder = os.path.join(store.folder, "serving")
        self.state_path = os.path.join(self.folder, "state.json")
        self.process = ServerProcess(self.folder, server_command or process.DEFAULT_COMMAND)
        self.server_args = list(server_args or [])
        self.ready_timeout = ready_timeout  # a deploy waits this long for the server to report the version ready

    # ------------------------------------------------------------------------------------------------------ reads
    def servable(self, run_id: str) -> Rows:
        return servable(self.store, run_id)

    def server(self) -> dict[str, Any] | None:
        info = read_server(self.folder)
        if info is not None and info["alive"]:
            info["alive"] = self.process.running() is not None
        return info

    def list(self) -> Rows:
        rows = self.store.served_versions()
        names = sorted({r["name"] for r in rows})
        server = self.process.running()
        out = []
        for name in names:
            versions = [r for r in rows if r["name"] == name]
            out.append(
                {
                    "name": name,
                    "url": self._url(server, name),
                    "status": _status(server, name),
                    "versions": [_version(r) for r in versions],
                    "traffic": {r["version"]: r["traffic"] for r in versions},
                }
            )
        return out

    def metrics(self) -> dict[str, Any]:
        server = self.process.running()
        if server is None:
            return {}
        text = _get(f"{server['url']}/metrics")
        lines = observe.tail(os.path.join(self.folder, "requests.log"), 100_000, 8 << 20)
        return observe.summarize(text or "", lines)

    def recent_requests(self, limit: int = 50) -> Lines:
        return observe.tail(os.path.join(self.folder, "requests.log"), limit)

    # ----------------------------------------------------------------------------------------------------- writes
    def deploy(
        self,
        *,
        run_id: str | None = None,
        variable: str | None = None,
        model_dir: str | None = None,
        name: str | None = None,
        canary_percent: int | None = None,
        step: str | None = None,
        start: bool = True,
    ) -> dict[str, Any]:
        """Serve a run's model (``run_id`` + ``variable``, optionally its ``step``) or a model directory. ``start``
        False: record it and write state.json without starting a server (`kale-ext serve --foreground` runs one)."""
        directory, meta = self._resolve(run_id, variable, model_dir, step)
        name = _check_name(name or default_name(variable or os.path.basename(os.path.normpath(model_dir or directory))))
        if canary_percent is not None and not (isinstance(canary_percent, int) and 0 < canary_percent < 100):
            raise InvalidRequestError(f"The canary percent must be an integer from 1 to 99, not {canary_percent!r}.")
        if start and self.process.running() is None:
            # Started first, on what is recorded now: when it cannot start, nothing is recorded as served.
            self.write_state()
            self.process.start(self.state_path, self.host, self.port, self.server_args)
        with self.store.served_transaction():  # the versions read and the one written: one write transaction
            version = self._add_version(name, directory, meta, canary_percent)
        self.apply(start=start)
        if start:
            self._wait_ready(name, version)
        return self._answer(name, version)

    def _wait_ready(self, name: str, version: str) -> None:
        """Until the server answers that this version is ready (it reloads state.json within a second)."""
        deadline = time.monotonic() + self.ready_timeout
        while True:
            server = self.process.running()
            if server is None:
                raise ServerStartError(f"The model server stopped; see {os.path.join(self.folder, 'server.log')}.")
            code = _get_status(f"{server['url']}/v2/models/{name}/versions/{version}/ready")
            if code == 200:
                return
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"The model server did not report {name} version {version} ready within {self.ready_timeout:.0f} "
                    f"s (last answer: {code}). It stays deployed; `kale-ext serve list` shows its status, "
                    f"{os.path.join(self.folder, 'server.log')} the server's messages.",
                    code="serving.not_ready",
                )
            time.sleep(0.05)

    def _add_version(self, name: str, directory: str, meta: dict[str, Any], canary_percent: int | None) -> str:
        source = meta.get("source") or {}
        live = self.store.served_versions(name)
        version = self.store.next_served_version(name)
        row = {
            "version": version,
            "run_id": source.get("run_id"),
            "step": source.get("step"),
            "variable": source.get("variable"),
            "hash": source.get("hash"),
            "kind": meta["kind"],
            "model_dir": os.path.abspath(directory),
        }
        if live and canary_percent is not None:
            stable = max(live, key=lambda r: (r["traffic"], int(r["version"])))
            retire = [r["version"] for r in live if r is not stable]
            traffic = {stable["version"]: 100 - canary_percent}
            self.store.update_served(name, add={**row, "traffic": canary_percent}, traffic=traffic, stop=retire)
        else:  # the first version, or KServe's default rollout: the new version takes all traffic
            self.store.update_served(name, add={**row, "traffic": 100}, stop=[r["version"] for r in live])
        return version

    def promote(self, name: str) -> dict[str, Any]:
        with self.store.served_transaction():
            newest = self._promote(name)
        self.apply()
        return self._answer(name, newest)

    def _promote(self, name: str) -> str:
        live = self._live(name)
        if len(live) < 2:
            raise ConflictError(
                f"Model {name!r} serves one version ({live[0]['version']}); there is nothing to promote."
            )
        newest = live[-1]["version"]
        self.store.update_served(name, traffic={newest: 100}, stop=[r["version"] for r in live[:-1]])
        return newest

    def rollback(self, name: str) -> dict[str, Any]:
        with self.store.served_transaction():
            back = self._rollback(name)
        self.apply()
        return self._answer(name, back)

    def _rollback(self, name: str) -> str:
        live = self._live(name)
        if len(live) < 2:
            raise ConflictError(
                f"Model {name!r} serves one version ({live[0]['version']}); there is no earlier version to roll back "
                f"to. Fix: `kale-ext serve stop {name}` stops it; deploy with --canary-percent to keep the current one."
            )
        newest, rest = live[-1], live[:-1]
        back = max(rest, key=lambda r: (r["traffic"], int(r["version"])))
        self.store.update_served(
            name, traffic={back["version"]: back["traffic"] + newest["traffic"]}, stop=[newest["version"]]
        )
        return back["version"]

    def stop(self, name: str | None = None) -> None:
        """Stop one model (all its versions), or with None the server and every model."""
        if name is None:
            self.store.stop_all_served()
            self.write_state()
            self.process.stop()
            return
        with self.store.served_transaction():
            self.store.update_served(name, stop=[r["version"] for r in self._live(name)])
        self.apply()

    def apply(self, *, start: bool = True) -> None:
        """Write state.json from the store, then make the server serve it (starting it when none runs)."""
        self.write_state()
        if self.process.running() is not None:
            self.process.reload()
        elif start and self.store.served_versions():
            self.process.start(self.state_path, self.host, self.port, self.server_args)

    def write_state(self) -> None:
        models: dict[str, Any] = {}
        for r in self.store.served_versions():
            entry = models.setdefault(r["name"], {"versions": {}, "traffic": {}})
            entry["versions"][r["version"]] = {"model_dir": r["model_dir"]}
            entry["traffic"][r["version"]] = r["traffic"]
        os.makedirs(self.folder, exist_ok=True)
        tmp = f"{self.state_path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump({"models": models}, f, indent=1)
        os.replace(tmp, self.state_path)

    # ---------------------------------------------------------------------------------------------------- helpers
    def _resolve(
        self, run_id: str | None, variable: str | None, model_dir: str | None, step: str | None
    ) -> tuple[str, dict[str, Any]]:
        if model_dir is not None:
            if run_id is not None or variable is not None:
                raise InvalidRequestError("Give either a run and its model variable, or a model directory, not both.")
            from .modeldir import adopt_model_dir

            directory, meta = adopt_model_dir(self.store, model_dir)
            check_loads(directory)
            return directory, meta
        if not run_id or not variable:
            raise InvalidRequestError("Name the run and the model variable to serve (or a model directory).")
        return export_from_run(self.store, run_id, variable, step)

    def _live(self, name: str) -> Rows:
        live = self.store.served_versions(name)
        if not live:
            served = sorted({r["name"] for r in self.store.served_versions()})
            raise NotFoundError(
                f"No model named {name!r} is served (served: {', '.join(served) or 'none'}).",
                code="model.not_served",
            )
        return live

    def _answer(self, name: str, version: str) -> dict[str, Any]:
        traffic = {r["version"]: r["traffic"] for r in self.store.served_versions(name)}
        return {"name": name, "version": version, "url": self._url(self.process.running(), name), "traffic": traffic}

    def _url(self, server: dict[str, Any] | None, name: str) -> str:
        base = server["url"] if server else f"http://{self.host}:{self.port}"
        return f"{base}/v1/models/{name}"


def default_name(variable: str) -> str:
    """A served name from a variable or folder name: lower case, "_" and "." as "-"."""
    name = re.sub(r"[^a-z0-9-]+", "-", variable.lower()).strip("-")
    return name if name and name[0].isalpha() else f"model-{name}".rstrip("-")


def _check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InvalidRequestError(
            f"{name!r} is not a valid model name: use lower-case letters, digits and '-', starting with a letter "
            "(at most 63 characters), as KServe names an InferenceService.",
            code="model.name",
        )
    return name


def _version(r: dict[str, Any]) -> dict[str, Any]:
    keys = ("version", "run_id", "step", "variable", "hash", "kind", "model_dir", "created")
    return {k: r[k] for k in keys}


def _status(server: dict[str, Any] | None, name: str) -> str:
    """ "ready", "loading" (the server has not picked it up yet), "not_ready" (it cannot serve it: 503), "failed",
    "unreachable" (no answer) or "stopped" (no server runs)."""
    if server is None:
        return "stopped"
    code = _get_status(f"{server['url']}/v2/models/{name}/ready")
    return {200: "ready", 404: "loading", 503: "not_ready", None: "unreachable"}.get(code, "failed")


def _open(url: str) -> Any:
    import urllib.request

    # The server is local: no proxy from the environment may stand between.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return opener.open(url, timeout=2)


def _get(url: str) -> str | None:
    try:
        with _open(url) as r:
            return r.read().decode()
    except OSError:
        return None


def _get_status(url: str) -> int | None:
    import urllib.error

    try:
        with _open(url) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None
