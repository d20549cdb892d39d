"""Data passing between steps: serializers chosen by the value's type, registered in one registry.

``save_value(name, value, directory)`` writes one variable and returns its manifest entry (path, serializer, content hash,
size, type); ``load_value(entry)`` reads it back with its exact type. Plain Python (numpy, pandas, joblib, torch are imported
lazily and only for values of their own types); never imports tornado or jupyter_server.
"""

from .registry import (
    ArtifactEntry,
    SerializationError,
    Serializer,
    default_registry,
    load_value,
    load_values,
    save_group,
    save_value,
)

__all__ = [
    "ArtifactEntry",
    "SerializationError",
    "Serializer",
    "default_registry",
    "load_value",
    "load_values",
    "save_group",
    "save_value",
]
