"""kale-ext: turn a tagged Jupyter notebook into a reproducible ML pipeline.

Only the version and the Jupyter entry points live here. Importing kale_ext must stay cheap and must not import
tornado or jupyter_server: the server extension is loaded lazily from kale_ext.server.
"""

try:
    from ._version import __version__
except ImportError:  # a source tree that was never built: the version comes from package.json at build time
    import warnings

    warnings.warn("kale_ext was not installed properly: _version.py is missing", stacklevel=1)
    __version__ = "dev"

# Defined once, with the REST models (kale_ext/api/); kale_ext.api's __init__ imports nothing, so this costs nothing.
from .api import API_VERSION as API_VERSION


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "kale_ext"}]


def _jupyter_server_extension_points() -> list[dict]:
    from .server.app import KaleExtApp

    return [{"module": "kale_ext", "app": KaleExtApp}]
