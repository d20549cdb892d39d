"""The connection to a Kubeflow Pipelines API: kfp.Client made quiet and fast to fail, and its faults as KaleErrors.

``connect(host, token=..., namespace=..., timeout=...)`` builds a ``kfp.Client`` whose HTTP layer does not retry (an
unreachable host is reported at once, not after minutes of urllib3 and healthz retries), whose requests time out, and
whose chatter is silenced (its FutureWarning, its logged tracebacks, the links it prints on stdout). Healthz is the first
request. Every call the runner makes goes through ``KfpClient.call``, which turns what kfp raises into one-line
KfpApiErrors: the host unreachable or not a KFP API, 401/403 (naming the token setting), a namespace refused, anything
else KFP answered with its own message. The token is never printed, logged or put in a message.

Imports kfp lazily (the optional extra); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from ...errors import KaleError
from . import require_kfp

T = TypeVar("T")

TOKEN_HINT = "set c.KfpRunner.token_path (or KF_PIPELINES_SA_TOKEN_PATH) to a file holding a valid bearer token"
HOST_HINT = "set c.KfpRunner.host (or KF_PIPELINES_ENDPOINT, or --host) to the KFP API's URL"
_PRINT_LOCK = threading.Lock()  # kfp.Client prints links on stdout; the redirect is process-wide


class KfpApiError(KaleError):
    """The KFP API could not be used (unreachable, not KFP, refused the credentials or the request)."""

    status = 400
    code = "kfp.api"


class KfpUnreachableError(KfpApiError):
    code = "kfp.unreachable"


def _silence_loggers() -> None:
    for name in ("kfp", "kfp_server_api"):  # urllib3 stays: with no retries it has nothing to say
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _client_class() -> type:
    import kfp
    import urllib3

    class QuietClient(kfp.Client):
        """kfp.Client without retries (urllib3 Retry 0, one healthz attempt) and with request timeouts."""

        kale_timeout: tuple[float, float] = (5.0, 30.0)

        def _load_config(self, *args: Any, **kwargs: Any) -> Any:
            config = super()._load_config(*args, **kwargs)
            config.retries = urllib3.Retry(total=0, connect=0, read=0, redirect=3, status=0, other=0)
            return config

        def get_kfp_healthz(self, sleep_duration: int = 5) -> Any:
            """One attempt with a short timeout; the body must be a JSON object (what KFP's healthz answers)."""
            import kfp_server_api

            response = self._healthz_api.healthz_service_get_healthz(
                _preload_content=False, _request_timeout=self.kale_timeout
            )
            try:
                body = json.loads(response.data or b"")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise _NotKfp(f"GET /apis/v2beta1/healthz answered {response.status} without a JSON object")
            return kfp_server_api.V2beta1GetHealthzResponse(multi_user=bool(body.get("multi_user")))

    return QuietClient


class _NotKfp(Exception):
    pass


class KfpClient:
    """One kfp.Client for one host, token and namespace; ``call`` runs a client method and translates its faults."""

    def __init__(self, host: str, *, token: str | None, namespace: str | None, timeout: float = 5.0) -> None:
        require_kfp()
        self.host = host.rstrip("/")
        self.namespace = namespace or None
        self.multi_user = False
        _silence_loggers()
        cls: Any = _client_class()
        cls.kale_timeout = (timeout, max(timeout, 30.0))
        with _PRINT_LOCK, warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            # The client's __init__ asks healthz when no namespace is set; with one, healthz is asked right after.
            self.client = self._guard(
                lambda: cls(host=self.host, existing_token=token or None, namespace=self.namespace or "kubeflow"),
                "the connection (GET healthz)",
            )
        self._set_timeouts(timeout)
        self.multi_user = bool(self.call(self.client.get_kfp_healthz, what="GET healthz").multi_user)

    def _set_timeouts(self, timeout: float) -> None:
        import urllib3

        pool = self.client._run_api.api_client.rest_client.pool_manager
        pool.connection_pool_kw["timeout"] = urllib3.Timeout(connect=timeout, read=max(timeout, 30.0))
        pool.clear()  # pools are made lazily with these keywords; the healthz one is rebuilt

    def call(self, fn: Callable[..., T], *args: Any, what: str, prints: bool = False, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` with its faults as KfpApiErrors. ``prints``: the method prints a link on stdout
        (create_experiment, upload_pipeline[_version], run_pipeline), silenced under a lock (the redirect is
        process-wide); the others (polls, lookups) run concurrently."""
        if not prints:
            return self._guard(lambda: fn(*args, **kwargs), what)
        with _PRINT_LOCK, contextlib.redirect_stdout(io.StringIO()):
            return self._guard(lambda: fn(*args, **kwargs), what)

    def _guard(self, fn: Callable[[], T], what: str) -> T:
        import kfp_server_api
        import urllib3

        try:
            return fn()
        except _NotKfp as exc:
            raise KfpApiError(
                f"{self.host} is not a Kubeflow Pipelines API ({exc}); {HOST_HINT}", code="kfp.not_kfp"
            ) from None
        except kfp_server_api.ApiException as exc:
            raise self._api_error(exc, what) from None
        except (urllib3.exceptions.HTTPError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise KfpUnreachableError(
                f"cannot reach the Kubeflow Pipelines API at {self.host} ({_one_line(reason)}); {HOST_HINT}"
            ) from None

    def _api_error(self, exc: Any, what: str) -> KfpApiError:
        status = exc.status or 0
        message = _server_message(exc.body) or exc.reason or "no message"
        if status in (401, 403):
            scope = f" in namespace {self.namespace!r}" if self.namespace else ""
            hint = TOKEN_HINT
            if status == 403 and self.namespace:
                hint = f"use a namespace this token may use (--namespace, c.KfpRunner.namespace), or {TOKEN_HINT}"
            return KfpApiError(
                f"the Kubeflow Pipelines API at {self.host} refused {what}{scope} (HTTP {status}: "
                f"{_one_line(message)}); {hint}",
                code="kfp.unauthorized" if status == 401 else "kfp.forbidden",
                details={"http_status": status},
            )
        if status == 404 and what == "GET healthz":
            return KfpApiError(
                f"{self.host} is not a Kubeflow Pipelines API (GET /apis/v2beta1/healthz answered 404); {HOST_HINT}",
                code="kfp.not_kfp",
            )
        if status >= 500 or status == 0:
            return KfpUnreachableError(
                f"the Kubeflow Pipelines API at {self.host} failed on {what} (HTTP {status}: {_one_line(message)})",
                details={"http_status": status},
            )
        return KfpApiError(
            f"the Kubeflow Pipelines API at {self.host} refused {what} (HTTP {status}: {_one_line(message)})",
            code="kfp.refused",
            details={"http_status": status},
        )


def _server_message(body: Any) -> str | None:
    """KFP's error body is a google.rpc.Status as JSON: {"code", "message", "details"} (older: "error")."""
    if not body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return body.decode("utf-8", "replace")[:200] if isinstance(body, bytes) else str(body)[:200]
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or "")[:300] or None
    return None


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())[:300]


def connect(host: str, *, token: str | None, namespace: str | None, timeout: float = 5.0) -> KfpClient:
    return KfpClient(host, token=token, namespace=namespace, timeout=timeout)
