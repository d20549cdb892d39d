"""Step configuration compiled through the kfp SDK and kfp-kubernetes: Kale's step tags (limit:, label:, annotation:,
secret:, cache:), the project's retries and timeouts, and Kale's notebook volumes. Base images are chosen by the
compiler (``base_image``). Whatever cannot be compiled becomes a warning diagnostic on the cell that carries it; nothing
is dropped silently.

Project settings (notebook metadata key ``kale_ext``, beside Kale's ``kubeflow_notebook``):
  ``retries`` (int >= 0), ``retry_backoff`` (duration such as "30s"), ``timeout`` (seconds, int > 0): every step;
  ``steps``: {STEP: {"retries", "retry_backoff", "timeout"}} overrides them for one step.
Kale's ``volumes``: [{"type": "pvc" (an existing claim, ``name``) | "new_pvc" (created by the run: ``name``, ``size``,
``size_type``, ``storage_class_name``, ``volume_access_mode`` rom|rwo|rwm, ``annotations``), "mount_point"}].

Imports kfp lazily (inside the functions); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import re
from typing import Any

from ...pipeline.model import Diagnostic, Step

ACCESS_MODES = {"rom": "ReadOnlyMany", "rwo": "ReadWriteOnce", "rwm": "ReadWriteMany"}
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


def volume_plan(settings: dict[str, Any], out: list[Diagnostic]) -> list[dict[str, Any]]:
    """Kale's ``volumes`` setting, validated: [{"kind": "pvc"|"new_pvc", "name", "mount_point", ...}]."""
    volumes = settings.get("volumes") or []
    if not isinstance(volumes, list):
        out.append(warn("kfp.volume", None, f"the notebook setting volumes must be a list, found {volumes!r}"))
        return []
    plan = []
    for i, v in enumerate(volumes):
        label = f"volume {i + 1} ({v.get('name', '?') if isinstance(v, dict) else v!r})"
        if not isinstance(v, dict) or not v.get("name") or not str(v.get("mount_point", "")).startswith("/"):
            out.append(warn("kfp.volume", None, f"{label}: needs a name and an absolute mount_point; not mounted"))
            continue
        kind = v.get("type")
        if kind == "pvc":
            plan.append({"kind": "pvc", "name": v["name"], "mount_point": v["mount_point"]})
        elif kind == "new_pvc":
            size = v.get("size")
            mode = ACCESS_MODES.get(str(v.get("volume_access_mode") or settings.get("volume_access_mode") or "rwm"))
            if not isinstance(size, int | str) or not str(size).strip() or mode is None:
                out.append(
                    warn(
                        "kfp.volume",
                        None,
                        f"{label}: a new_pvc needs a size and an access mode in rom, rwo, rwm; not created",
                    )
                )
                continue
            annotations = v.get("annotations") or []
            if isinstance(annotations, list):  # Kale's frontend writes [{"key", "value"}]
                annotations = {a["key"]: a["value"] for a in annotations if isinstance(a, dict) and a.get("key")}
            plan.append(
                {
                    "kind": "new_pvc",
                    "name": v["name"],
                    "mount_point": v["mount_point"],
                    "size": f"{size}{v.get('size_type') or ''}",
                    "access_modes": [mode],
                    "storage_class_name": v.get("storage_class_name") or settings.get("storage_class_name"),
                    "annotations": annotations if isinstance(annotations, dict) else {},
                }
            )
        else:
            out.append(
                warn(
                    "kfp.volume",
                    None,
                    f"{label}: volume type {kind!r} cannot be compiled to KFP (supported: "
                    "pvc, an existing claim; new_pvc, a claim created by each run); not mounted",
                )
            )
    return plan


def create_volumes(plan: list[dict[str, Any]]) -> dict[str, Any]:
    """Inside the pipeline function: one CreatePVC task per new_pvc volume (its claim is named after the run)."""
    from kfp import kubernetes

    created = {}
    for v in plan:
        if v["kind"] == "new_pvc":
            optional = {"storage_class_name": v["storage_class_name"], "annotations": v["annotations"]}
            task = kubernetes.CreatePVC(
                pvc_name_suffix=f"-{v['name']}",
                access_modes=v["access_modes"],
                size=v["size"],
                **{k: value for k, value in optional.items() if value},  # absent: the cluster's defaults
            )
            task.set_display_name(f"create-volume-{v['name']}")
            created[v["name"]] = task
    return created


def mount_volumes(task: Any, plan: list[dict[str, Any]], created: dict[str, Any]) -> None:
    from kfp import kubernetes

    for v in plan:
        claim = created[v["name"]].outputs["name"] if v["kind"] == "new_pvc" else v["name"]
        kubernetes.mount_pvc(task, pvc_name=claim, mount_path=v["mount_point"])
