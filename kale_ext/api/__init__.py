"""The REST contract of kale_ext: request and response models (msgspec Structs), their codec and JSON Schema export.

Declared once here; the handlers in kale_ext/server/ parse requests and serialize responses through these models, the
CLI prints its --json output through them, and the TypeScript types in src/api/generated.ts are generated from the
exported schema (``python -m kale_ext.api.schema``, then scripts/generate-api.sh). This package is plain Python: it
must not import tornado or jupyter_server, nor the runners or the store (it converts their plain dicts).

This ``__init__`` stays import-free so that ``kale_ext.API_VERSION`` costs nothing; the models live in submodules.
"""

API_VERSION = "1"
"""The REST API version (``GET /kale/v1/info`` answers it; the frontend refuses a server that speaks another)."""
