"""One way to reach the Kubernetes API: the given client, else in-cluster configuration, else $KUBECONFIG (read at the
call, not at import: a long-lived Jupyter server may set it later), for every backend that talks to a cluster (KServe,
Katib, CSI snapshots).

The kubernetes client is imported here only when called (the `kserve` extra); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .errors import KaleError


def api_client(
    given: Any = None, *, fail: Callable[[str], KaleError], retries: int | None = None, needed_for: str = ""
) -> Any:
    """``given``, else a ``kubernetes.client.ApiClient`` configured in-cluster or from the kubeconfig. ``fail(reason)``
    builds the error raised when the client is not installed or no configuration is found; ``retries`` (0: a cluster
    that does not answer is reported at once) overrides urllib3's default."""
    if given is not None:
        return given
    try:
        from kubernetes import client, config
    except ImportError:
        raise fail(f"{needed_for or 'this'} needs the kubernetes client: pip install 'kale-ext[kserve]'") from None
    cfg = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=cfg)
    except config.ConfigException:
        try:
            config.load_kube_config(config_file=os.environ.get("KUBECONFIG"), client_configuration=cfg)
        except (config.ConfigException, OSError) as exc:
            raise fail(f"no Kubernetes configuration (in-cluster or kubeconfig): {exc}") from None
    if retries is not None:
        cfg.retries = retries
    return client.ApiClient(cfg)


SA_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def default_namespace(namespace: str | None = None) -> str:
    """``namespace`` when given, else the one this process runs in (in-cluster), else the kubeconfig's current
    context's, else "default"."""
    if namespace:
        return namespace
    try:
        with open(SA_NAMESPACE) as f:
            found = f.read().strip()
        if found:
            return found
    except OSError:
        pass
    try:
        from kubernetes import config

        _, active = config.list_kube_config_contexts(config_file=os.environ.get("KUBECONFIG"))
        return (active or {}).get("context", {}).get("namespace") or "default"
    except Exception:  # no kubernetes client, no kubeconfig, or one without contexts: the API's own default
        return "default"
