"""KfpRunner: runs a pipeline on Kubeflow Pipelines behind the Runner interface, recorded in the same store as local runs.

``start`` refuses analysis errors and wrong parameters before anything is uploaded, compiles the pipeline (compiler.py),
connects (client.py: healthz first, no retries), finds or creates the experiment, uploads the pipeline (a new pipeline
version on each deploy of the same notebook), creates the run with the typed parameters, and records it
(``runner="kfp"``, ``external_id`` the KFP run id, ``options.external_url`` the KFP UI's run page, ``options.kfp`` the
host, experiment, namespace, pipeline and version ids; ``options.volume_snapshots`` the CSI VolumeSnapshots of the
workspace claims taken before the submission, which the steps mount restored copies of: csi_client.py). A watcher thread per run (watch.py) polls the run and maps its
state and its tasks' states onto the store. Watching resumes after a server restart: opening a store re-attaches to its
unfinished kfp runs (they are never marked "interrupted": the cluster keeps running them). The bearer token is read
from a file at each connection and is never printed, logged or stored.

A traitlets Configurable (``c.KfpRunner.host = ...``); imports kfp lazily; never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from typing import TYPE_CHECKING, Any

from traitlets import Any as AnyTrait
from traitlets import Float, Unicode, default
from traitlets.config import LoggingConfigurable

from ...errors import NotFoundError
from ...pipeline.model import Pipeline
from ...steps.spec import build_specs
from ...store import Store, store_dir_for
from ...store.db import ENV_HOME, new_run_id
from .. import params as params_mod
from ..base import Listener, Runner, RunnerError, RunOptions, refuse_unrunnable
from ..workspace import snapshots_default, take_snapshot, workspace_of
from .client import HOST_HINT, KfpApiError, KfpClient, connect

if TYPE_CHECKING:
    from .compiler import CompileResult
from .watch import ACTIVE, Watch

ENV_HOST = "KF_PIPELINES_ENDPOINT"
ENV_TOKEN_PATH = "KF_PIPELINES_SA_TOKEN_PATH"
SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def default_token_path() -> str:
    """$KF_PIPELINES_SA_TOKEN_PATH, else the pod's service-account token when there is one, else "" (no token)."""
    return os.environ.get(ENV_TOKEN_PATH) or (SA_TOKEN if os.path.exists(SA_TOKEN) else "")


class _ConfigurableRunnerMeta(type(LoggingConfigurable), type(Runner)):  # type: ignore[misc]
    """A traitlets Configurable that is also an abstract Runner."""


class KfpRunner(LoggingConfigurable, Runner, metaclass=_ConfigurableRunnerMeta):
    """The Kubeflow Pipelines backend (``c.KfpRunner.host = "https://..."`` in the Jupyter server's config)."""

    name = "kfp"

    host = Unicode(
        config=True, help=f"URL of the Kubeflow Pipelines API (e.g. http://ml-pipeline-ui:80). Default: ${ENV_HOST}."
    )
    namespace = Unicode(
        "", config=True, help="Kubernetes namespace of the runs and experiments (multi-user KFP); empty: single-user."
    )
    experiment = Unicode("kale-ext", config=True, help="The KFP experiment runs are started in (created if missing).")
    token_path = Unicode(
        config=True,
        help=f"File holding the bearer token sent to the KFP API. Default: ${ENV_TOKEN_PATH}, else the in-cluster "
        f"service-account token ({SA_TOKEN}) when it exists; empty: no token.",
    )
    ui_url = Unicode(config=True, help="Base URL of the KFP UI, for the links to runs. Default: the host.")
    poll_interval = Float(2.0, config=True, help="Seconds between two polls of a watched run.")
    timeout = Float(5.0, config=True, help="Seconds to wait for the KFP API to connect (then: unreachable).")
    snapshot_pvc = Unicode(
        "",
        config=True,
        help="A workspace PersistentVolumeClaim to snapshot (CSI VolumeSnapshot) before each submission; the steps "
        "mount a claim restored from the snapshot (where the notebook's volumes mount it, else /home/jovyan). Empty: "
        "only when the notebook sets snapshot_volumes (kale-ext run --snapshot-pvc).",
    )
    snapshot_timeout = Float(
        300.0, config=True, help="Seconds to wait for a workspace VolumeSnapshot to be ready to use (then: an error)."
    )
    kube_client = AnyTrait(
        None, help="A kubernetes.client.ApiClient for the snapshots; None: in-cluster config, else $KUBECONFIG."
    )
    store_dir = Unicode(
        config=True,
        help=f"Folder of the run store. Default: c.LocalRunner.store_dir if set, else ${ENV_HOME} if set; empty: a "
        ".kale/ folder beside each notebook.",
    )

    @default("host")
    def _default_host(self) -> str:
        return os.environ.get(ENV_HOST, "")

    @default("token_path")
    def _default_token_path(self) -> str:
        return default_token_path()

    @default("store_dir")
    def _default_store_dir(self) -> str:
        local = self.config.get("LocalRunner", {})  # one store for both backends unless told otherwise
        if local.get("store_dir"):
            return os.path.abspath(os.path.expanduser(local["store_dir"]))
        home = os.environ.get(ENV_HOME)
        return os.path.abspath(os.path.expanduser(home)) if home else ""

    def __init__(self, store: Store | None = None, *, reattach: bool = True, **kwargs: Any) -> None:
        """``reattach`` False: opening a store does not start watching its unfinished kfp runs (a one-shot command)."""
        super().__init__(**kwargs)
        self.store = store
        self.reattach = reattach
        self._stores: dict[str, Store] = {}
        self._watches: dict[str, Watch] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        if store is not None:
            self._open(store)
        elif self.store_dir:
            self.store_for(os.path.join(self.store_dir, "_"))

    # ------------------------------------------------------------------------------------------------- configuration
    def disabled_reason(self) -> str | None:
        """Why this backend cannot run pipelines here (None: it can)."""
        from . import INSTALL_HINT

        try:
            import kfp  # noqa: F401
        except ImportError:
            return f"no Kubeflow Pipelines backend: the kfp extra is not installed; install it with {INSTALL_HINT}"
        if not self.host:
            return f"no Kubeflow Pipelines backend is configured (no KFP host); {HOST_HINT}"
        return None

    @property
    def closed(self) -> bool:
        """True once ``close`` was called: watchers stop, no new run starts."""
        return self._closed.is_set()

    def ui_base(self) -> str:
        return (self.ui_url or self.host).rstrip("/")

    def read_token(self) -> str | None:
        if not self.token_path:
            return None
        try:
            with open(self.token_path) as f:
                return f.read().strip() or None
        except OSError as exc:
            raise KfpApiError(
                f"cannot read the KFP token file {self.token_path} ({exc.strerror}); fix c.KfpRunner.token_path "
                f"or ${ENV_TOKEN_PATH}",
                code="kfp.token",
            ) from None

    def connect(self, recorded: dict[str, Any] | None = None) -> KfpClient:
        """A client of the configured host, or of the host and namespace a run was ``recorded`` with (its options.kfp:
        a run started elsewhere, e.g. by `kale-ext run --host`, is watched and cancelled where it runs)."""
        host = (recorded or {}).get("host") or self.host
        namespace = (recorded or {}).get("namespace") if recorded else self.namespace
        reason = self.disabled_reason() if not (recorded or {}).get("host") else None
        if reason:
            raise KfpApiError(f"cannot run on Kubeflow Pipelines: {reason}", code="kfp.unavailable")
        return connect(host, token=self.read_token(), namespace=namespace or None, timeout=self.timeout)

    # --------------------------------------------------------------------------------------------------------- stores
    def store_for(self, notebook_path: str) -> Store:
        if self.store is not None:
            return self.store
        folder = os.path.abspath(self.store_dir) if self.store_dir else store_dir_for(notebook_path)
        with self._lock:
            store = self._stores.get(folder)
        return store if store is not None else self._open(Store(folder))

    def _open(self, store: Store) -> Store:
        """Remember the store and re-attach to its unfinished kfp runs (the cluster runs them on)."""
        with self._lock:
            self._stores[store.folder] = store
        if not self.reattach:
            return store
        for run in store.list_runs(limit=1000):
            if run["runner"] == self.name and run["status"] in ACTIVE:
                self._watch(store, run["run_id"])
        return store

    def store_of(self, run_id: str) -> Store:
        """The store that holds the run; NotFoundError when no store opened here has it."""
        with self._lock:
            stores = list(self._stores.values())
        for store in stores:
            if store.has_run(run_id):
                return store
        raise NotFoundError(f"No run {run_id!r} is known to this runner.", code="run.not_found")

    def _watch(self, store: Store, run_id: str, listener: Listener | None = None) -> None:
        with self._lock:
            if run_id in self._watches or self._closed.is_set():
                return
            watch = self._watches[run_id] = Watch(self, store, run_id, listener, on_finished=self._forget)
        watch.start()

    def _forget(self, run_id: str) -> None:
        with self._lock:
            self._watches.pop(run_id, None)

    def _workspace_snapshot(self, pipeline: Pipeline, notebook_path: str, options: RunOptions) -> str | None:
        """The snapshot of the workspace as submitted, taken before the submission (kale_ext.runners.workspace); None
        when the run, the notebook or $KALE_EXT_SNAPSHOTS opts out."""
        workspace = workspace_of(notebook_path, pipeline.settings) if options.snapshot and snapshots_default() else None
        if workspace is None:
            return None
        return take_snapshot(self.store_for(workspace.notebook), workspace)

    # ------------------------------------------------------------------------------------------------------------ API
    def capabilities(self) -> list[str]:
        return [] if self.disabled_reason() else ["runs", f"runner:{self.name}"]

    def start(
        self,
        pipeline: Pipeline,
        notebook_path: str,
        options: RunOptions | None = None,
        *,
        listener: Listener | None = None,
    ) -> str:
        """See kale_ext.runners.base; nothing reaches the KFP API unless the notebook and its parameters are valid."""
        from .compiler import compile_pipeline
        from .snapshots import snapshot_requests

        options = options or RunOptions()
        if self._closed.is_set():
            raise RunnerError("The runner is shut down; no new run can start.", code="run.closed")
        refuse_unrunnable(pipeline, after="; nothing was uploaded")
        values = params_mod.resolve(pipeline.parameters, options.parameters)
        literals = params_mod.to_literals(values)
        requests = snapshot_requests(pipeline.settings, self.snapshot_pvc or None)
        result = None if requests else compile_pipeline(pipeline)  # with snapshots: compiled once they are ready
        client = self.connect()
        snapshot_id = self._workspace_snapshot(pipeline, notebook_path, options)  # a failure submits nothing
        run_id = new_run_id()
        notebook = os.path.abspath(notebook_path)
        snapshots: list[dict[str, Any]] = []
        try:
            snapshots = self._snapshot(requests, run_id, notebook, listener)
            result = result or compile_pipeline(pipeline, snapshots=snapshots)
            submitted = self._submit(client, result, run_id, _kfp_values(values), options.use_cache)
        except BaseException:
            self._release(snapshots)  # not submitted: nothing will ever mount them
            if snapshot_id is not None:  # nor name the workspace's snapshot, which retention would never remove
                from ...snapshots import SnapshotStore

                SnapshotStore(self.store_for(notebook)).delete([snapshot_id])
            raise
        store = self.store_for(notebook)
        store.create_run(
            run_id=run_id,
            notebook=notebook,
            pipeline=pipeline.name,
            parameters=literals,
            options={
                "use_cache": options.use_cache,
                "fail_fast": options.fail_fast,
                "max_parallel": None,
                "launcher": None,
                "external_url": f"{self.ui_base()}/#/runs/details/{submitted['run_id']}",
                "kfp": submitted,
                **({"volume_snapshots": snapshots} if snapshots else {}),
            },
            plan=[s.to_json() for s in build_specs(pipeline)],
            metric_sources=dict(pipeline.metric_sources),
            runner=self.name,
            external_id=submitted["run_id"],
        )
        if snapshot_id is not None:
            store.update_run(run_id, snapshot_id=snapshot_id)
        self._watch(store, run_id, listener)
        return run_id

    def _submit(
        self, client: KfpClient, result: CompileResult, run_id: str, values: dict[str, Any], use_cache: bool
    ) -> dict[str, Any]:
        from .submit import submit

        fd, package = tempfile.mkstemp(suffix=".yaml", prefix="kale-kfp-")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(result.yaml)
            return submit(self, client, result, package, run_id, values, use_cache)
        finally:
            os.remove(package)

    def _snapshot(
        self, requests: list[dict[str, str]], run_id: str, notebook: str, listener: Listener | None
    ) -> list[dict[str, Any]]:
        """The ready VolumeSnapshots of the requested workspace claims (none asked: [])."""
        if not requests:
            return []
        from ...kube import default_namespace
        from .csi_client import kube_api_client, take_snapshots

        return take_snapshots(
            kube_api_client(self.kube_client),
            requests,
            namespace=default_namespace(self.namespace),
            run_id=run_id,
            notebook=notebook,
            timeout=self.snapshot_timeout,
            poll_interval=min(self.poll_interval, 1.0),
            listener=listener,
        )

    def _release(self, snapshots: list[dict[str, Any]]) -> None:
        if snapshots:
            from .csi_client import delete_snapshots, kube_api_client

            delete_snapshots(kube_api_client(self.kube_client), snapshots)

    def wait(self, run_id: str, timeout: float | None = None) -> dict[str, Any]:
        watch = self._watches.get(run_id)
        if watch is not None:
            watch.join(timeout)
        return self.get_run(run_id)

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Terminate the KFP run; the watcher records "cancelled" once KFP reports it (waited for briefly)."""
        store = self.store_of(run_id)
        row = store.run_row(run_id)
        if row["status"] not in ACTIVE:
            return store.get_run(run_id)
        client = self.connect(json.loads(row["options"]).get("kfp"))
        client.call(client.client.terminate_run, row["external_id"], what="terminate the run")
        self._watch(store, run_id)
        watch = self._watches.get(run_id)
        if watch is not None:
            watch.poke()
            watch.join(max(10.0, 3 * self.poll_interval))
        return store.get_run(run_id)

    def resume(self, run_id: str, *, listener: Listener | None = None) -> str:
        raise RunnerError(
            f"Run {run_id} ran on Kubeflow Pipelines; retry it there (its page: the run's external_url), or start a "
            "new run.",
            code="run.not_resumable",
        )

    def list_runs(self, notebook: str | None = None) -> list[dict[str, Any]]:
        if notebook is not None:
            return self.store_for(notebook).list_runs(notebook)
        with self._lock:
            stores = list(self._stores.values())
        runs = [r for store in stores for r in store.list_runs()]
        return sorted(runs, key=lambda r: r["created"], reverse=True)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self.store_of(run_id).get_run(run_id)

    def read_log(self, run_id: str, step: str, offset: int = 0) -> tuple[str, int]:
        run = self.get_run(run_id)
        if not any(s["name"] == step for s in run["steps"]):
            raise NotFoundError(f"Run {run_id} has no step {step!r}.", code="step.not_found")
        if offset > 0:
            return "", offset
        url = run["options"].get("external_url") or self.ui_base()
        text = (
            f"The logs of step {step!r} live in the cluster (the pod of its KFP task); the KFP API does not serve "
            f"them. Open the run in the KFP UI: {url}\n"
        )
        return text, len(text.encode())

    def close(self) -> None:
        """Stop watching (the runs go on in the cluster; the next start re-attaches)."""
        self._closed.set()
        with self._lock:
            watches = list(self._watches.values())
        for watch in watches:
            watch.poke()
            watch.join(10)


def _kfp_values(values: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as KFP carries them (JSON: a tuple travels as a list)."""
    return json.loads(json.dumps(values))
