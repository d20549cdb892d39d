"""The only parser of cell tags: Kale's tagging language (step:/block:, prev:, imports, functions, pipeline-parameters,
pipeline-metrics, skip) and its step-configuration tags (image:, limit:, label:, annotation:, secret:, cache:, report:).

Plain Python: must not import tornado or jupyter_server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# What a cell is for. Untagged code cells (kind None) join the cell above them, as in Kale.
STEP = "step"
IMPORTS = "imports"
FUNCTIONS = "functions"
PARAMETERS = "pipeline-parameters"
METRICS = "pipeline-metrics"
SKIP = "skip"
SPECIAL = (IMPORTS, FUNCTIONS, PARAMETERS, METRICS, SKIP)

_STEP_NAME = re.compile(r"^[_a-zA-Z][-_a-zA-Z0-9]*$")
_LIMIT = re.compile(r"^limit:([_a-z\-./]+):([_a-zA-Z0-9.]+)$")
_KEY_VALUE = re.compile(r"^(label|annotation):([^:]+):(.+)$")
# Kale's secret:NAME:KEY:ENV_VAR (one key as an environment variable), or secret:NAME:/MOUNT/PATH (the secret as a volume).
_SECRET = re.compile(r"^secret:([-a-z0-9.]+):(([-._a-zA-Z0-9]+):([_a-zA-Z][_a-zA-Z0-9]*)|/[^:]*)$")
_CACHE = re.compile(r"^(cache|report):(enabled|disabled)$")


@dataclass
class CellTags:
    """The meaning of one cell's tags; ``problems`` are (code, message) pairs for tags that cannot be used."""

    kind: str | None = None  # STEP, one of SPECIAL, or None (untagged)
    step: str | None = None
    prev: list[str] = field(default_factory=list)
    image: str | None = None
    limits: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    cache: bool | None = None
    report: bool | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def has_config(self) -> bool:
        return bool(self.image or self.limits or self.labels or self.annotations or self.secrets) or (
            self.cache is not None
        )


def parse_tags(tags: list) -> CellTags:
    """Parse a cell's metadata tags. Never raises: unusable tags become ``problems``."""
    out = CellTags()
    for tag in tags:
        if not isinstance(tag, str):
            out.problems.append(("tag.unknown", f"tag {tag!r} is not a string; remove it"))
            continue
        tag = tag.strip()
        if not tag:  # Kale's extension may leave an empty tag behind
            continue
        if tag in SPECIAL:
            _set_kind(out, tag, None)
            continue
        head, _, rest = tag.partition(":")
        if head in ("step", "block"):
            if not _STEP_NAME.match(rest):
                out.problems.append(
                    (
                        "tag.invalid",
                        f"tag {tag!r}: a step name must start with a letter or '_' and contain only "
                        "letters, digits, '_' and '-'; rename it",
                    )
                )
                continue
            _set_kind(out, STEP, rest)
        elif head == "prev":
            if not _STEP_NAME.match(rest):
                out.problems.append(("tag.invalid", f"tag {tag!r}: expected prev:STEP_NAME"))
            elif rest not in out.prev:
                out.prev.append(rest)
        elif head == "image" and rest:
            out.image = rest
        elif head == "limit" and (m := _LIMIT.match(tag)):
            out.limits[m.group(1)] = m.group(2)
        elif head in ("label", "annotation") and (m := _KEY_VALUE.match(tag)):
            (out.labels if head == "label" else out.annotations)[m.group(2)] = m.group(3)
        elif head == "secret" and _SECRET.match(tag):
            out.secrets.append(rest)
        elif head in ("cache", "report") and (m := _CACHE.match(tag)):
            setattr(out, head, m.group(2) == "enabled")
        else:
            out.problems.append(("tag.unknown", _unknown_message(tag)))
    if out.kind != STEP and (out.prev or out.has_config):
        out.problems.append(
            (
                "tag.misplaced",
                "prev:, image:, limit:, label:, annotation:, secret: and cache: tags only apply to a "
                "cell tagged step:NAME; add a step: tag to this cell or move these tags to one",
            )
        )
    return out


def _set_kind(out: CellTags, kind: str, step: str | None) -> None:
    if out.kind is None:
        out.kind, out.step = kind, step
    elif (out.kind, out.step) != (kind, step):
        first = f"step:{out.step}" if out.kind == STEP else out.kind
        second = f"step:{step}" if kind == STEP else kind
        out.problems.append(
            ("tag.conflict", f"the cell is tagged both {first!r} and {second!r}; keep one (the first one is used)")
        )


def _unknown_message(tag: str) -> str:
    head = tag.partition(":")[0]
    hints = {
        "limit": "expected limit:RESOURCE:VALUE, e.g. limit:nvidia.com/gpu:1",
        "label": "expected label:KEY:VALUE",
        "annotation": "expected annotation:KEY:VALUE",
        "secret": "expected secret:SECRET_NAME:KEY:ENV_VAR or secret:SECRET_NAME:/MOUNT/PATH",
        "cache": "expected cache:enabled or cache:disabled",
        "report": "expected report:enabled or report:disabled",
        "image": "expected image:IMAGE_REFERENCE",
    }
    if head in hints:
        return f"tag {tag!r} is malformed: {hints[head]}"
    return (
        f"unknown tag {tag!r}; the known tags are step:NAME (or block:NAME), prev:NAME, imports, functions, "
        "pipeline-parameters, pipeline-metrics, skip, image:, limit:, label:, annotation:, secret:, cache:; "
        "fix or remove it"
    )
