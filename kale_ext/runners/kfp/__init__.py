"""The Kubeflow Pipelines backend: the pipeline model compiled to KFP v2 IR through the kfp SDK (``compiler``), from
each step's KFP interface (``interface``: names and types) and its lightweight component (``components``), configured
by Kale's tags and settings (``config``, ``volumes``), with pinned requirements (``requirements``); ``entry`` is the code
that runs inside each KFP task. ``runner`` (KfpRunner) submits and watches runs behind the Runner interface, through
``client`` (kfp.Client, quiet and fast to fail), ``submit`` (experiment, pipeline version, run) and ``watch`` (run and
task states onto the store).

kfp and kfp-kubernetes are an optional extra (``pip install 'kale-ext[kfp]'``): nothing here imports them at module level,
so the core imports without them and ``require_kfp`` names the pip command when they are missing.
Never imports tornado or jupyter_server.
"""

from __future__ import annotations

from ...errors import KaleError

INSTALL_HINT = "pip install 'kale-ext[kfp]'"


class KfpMissingError(KaleError):
    status = 400
    code = "kfp.missing"


def require_kfp() -> None:
    """Raise KfpMissingError (one line, with the pip command) unless kfp and kfp-kubernetes are importable."""
    try:
        import kfp  # noqa: F401
        from kfp import kubernetes  # noqa: F401
    except ImportError as exc:
        raise KfpMissingError(
            f"the Kubeflow Pipelines extra is not installed ({exc.name or exc}); install it with: {INSTALL_HINT}"
        ) from None


__all__ = ["INSTALL_HINT", "KfpMissingError", "require_kfp"]
