"""Step configuration compiled through the kfp SDK and kfp-kubernetes: Kale's step tags (limit:, label:, annotation:,
secret:, cache:) and the project's retries and timeouts (Kale's volumes are in ``volumes``, base images are chosen by
the compiler). Whatever cannot be compiled becomes a warning diagnostic on the cell that carries it; nothing is dropped
silently.

Project settings (notebook metadata key ``kale_ext``, beside Kale's ``kubeflow_notebook``):
  ``retries`` (int >= 0), ``retry_backoff`` (duration such as "30s"), ``timeout`` (seconds, int > 0): every step;
  ``steps``: {STEP: {"retries", "retry_backoff", "timeout"}} overrides them for one step.
The settings are read merged with Kale's (``kubeflow_notebook``), so a Kale notebook's ``timeout`` applies to every step
(KFP v2 has no timeout for a whole run).

Imports kfp lazily (inside the functions); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import re
from typing import Any

from ...pipeline.model import Diagnostic, Step

STEP_SETTINGS = ("retries", "retry_backoff", "timeout")
_DURATION = re.compile(r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$")


def warn(code: str, cell: int | None, message: str) -> Diagnostic:
    return Diagnostic("warning", code, cell, None, message)


class StepConfigurator:
    """Applies one step's configuration to its task; ``cells`` maps each config tag to the cell that carries it."""

    def __init__(self, step: Step, cells: dict[str, int], settings: dict[str, Any], out: list[Diagnostic]):
        self.step, self.cells, self.settings, self.out = step, cells, settings, out
        self.default_cell = step.cells[0].index if step.cells else None

    def cell(self, tag: str) -> int | None:
        return self.cells.get(tag, self.default_cell)

    def apply(self, task: Any) -> None:
        c = self.step.config
        if c.cache is not None:
            task.set_caching_options(enable_caching=c.cache)
        self.limits(task, c.limits)
        self.pod_metadata(task, c.labels, c.annotations)
        for secret in c.secrets:
            self.secret(task, secret)
        self.retries_and_timeout(task)

    def limits(self, task: Any, limits: dict[str, str]) -> None:
        accelerator = None
        for resource, value in limits.items():
            tag = f"limit:{resource}:{value}"
            try:
                if resource == "cpu":
                    task.set_cpu_limit(value)
                elif resource == "memory":
                    task.set_memory_limit(value)
                elif "/" in resource:  # nvidia.com/gpu, amd.com/gpu, google.com/tpu ...: an extended resource
                    if accelerator is not None:
                        self.out.append(
                            warn(
                                "kfp.limit",
                                self.cell(tag),
                                f"tag {tag!r} not compiled: a KFP task has one accelerator type and this step already "
                                f"asks for {accelerator!r}; keep one limit: tag for accelerators",
                            )
                        )
                        continue
                    task.set_accelerator_type(resource).set_accelerator_limit(value)
                    accelerator = resource
                else:
                    self.out.append(
                        warn(
                            "kfp.limit",
                            self.cell(tag),
                            f"tag {tag!r} not compiled: KFP sets limits for cpu, memory and accelerators "
                            "(RESOURCE with a domain, e.g. nvidia.com/gpu) only; remove the tag",
                        )
                    )
            except ValueError as exc:
                self.out.append(warn("kfp.limit", self.cell(tag), f"tag {tag!r} not compiled: {exc}; fix the value"))

    def pod_metadata(self, task: Any, labels: dict[str, str], annotations: dict[str, str]) -> None:
        from kfp import kubernetes

        for key, value in labels.items():
            kubernetes.add_pod_label(task, key, value)
        for key, value in annotations.items():
            kubernetes.add_pod_annotation(task, key, value)

    def secret(self, task: Any, secret: str) -> None:
        """``NAME:KEY:ENV_VAR`` (Kale's form) exposes one key as an environment variable; ``NAME:/mount/path``
        mounts the whole secret as a volume."""
        from kfp import kubernetes

        name, _, rest = secret.partition(":")
        if rest.startswith("/"):
            kubernetes.use_secret_as_volume(task, secret_name=name, mount_path=rest)
            return
        key, _, env = rest.partition(":")
        kubernetes.use_secret_as_env(task, secret_name=name, secret_key_to_env={key: env})

    def retries_and_timeout(self, task: Any) -> None:
        from kfp import kubernetes

        merged = {k: self.settings[k] for k in STEP_SETTINGS if k in self.settings}
        per_step = self.settings.get("steps")
        if isinstance(per_step, dict) and isinstance(per_step.get(self.step.name), dict):
            merged.update({k: v for k, v in per_step[self.step.name].items() if k in STEP_SETTINGS})
        retries, backoff, timeout = (merged.get(k) for k in STEP_SETTINGS)
        where = f"kale_ext settings for step {self.step.name!r}"
        if retries is not None:
            if isinstance(retries, int) and not isinstance(retries, bool) and retries >= 0:
                if backoff is not None and not (isinstance(backoff, str) and _DURATION.match(backoff)):
                    self.out.append(
                        warn(
                            "kfp.setting",
                            None,
                            f"{where}: retry_backoff {backoff!r} is not a "
                            "duration such as '30s' or '5m'; the retries use KFP's default backoff",
                        )
                    )
                    backoff = None
                if retries > 0:
                    task.set_retry(num_retries=retries, backoff_duration=backoff)
            else:
                self.out.append(warn("kfp.setting", None, f"{where}: retries {retries!r} is not an integer >= 0"))
        if timeout is not None:
            if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout > 0:
                kubernetes.set_timeout(task, timeout)
            else:
                self.out.append(
                    warn("kfp.setting", None, f"{where}: timeout {timeout!r} is not a number of seconds > 0")
                )
