"""Notebook-level pipeline settings: Kale's "kubeflow_notebook" metadata key merged with the project's own key
"kale_ext", which carries a "version" and is migrated to the current version on load.

Plain Python: must not import tornado or jupyter_server.
"""

from __future__ import annotations

import copy
from typing import Any

KALE_KEY = "kubeflow_notebook"
OWN_KEY = "kale_ext"
VERSION = 1


def migrate(own: dict[str, Any]) -> dict[str, Any]:
    """Bring the project's own metadata to VERSION. Version 0 (unversioned) used "name"/"description" keys."""
    own = copy.deepcopy(own)
    version = own.get("version", 0)
    if not isinstance(version, int) or version < 0:
        version = 0
    if version < 1:
        if "name" in own and "pipeline_name" not in own:
            own["pipeline_name"] = own.pop("name")
        if "description" in own and "pipeline_description" not in own:
            own["pipeline_description"] = own.pop("description")
    own["version"] = VERSION
    return own


def read_settings(nb: dict[str, Any]) -> dict[str, Any]:
    """Kale's settings overlaid with the project's own (migrated); the project's own keys win."""
    meta = nb.get("metadata") or {}
    kale = meta.get(KALE_KEY)
    own = meta.get(OWN_KEY)
    settings: dict[str, Any] = copy.deepcopy(kale) if isinstance(kale, dict) else {}
    settings.update(migrate(own if isinstance(own, dict) else {}))
    return settings


def pipeline_name(settings: dict[str, Any], fallback: str | None) -> str:
    name = settings.get("pipeline_name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    return fallback or "pipeline"
