"""The pipeline name a notebook gets from its file name: the one rule shared by the server, the CLI and the runners.

Plain Python; must not import tornado, jupyter_server or nbformat.
"""

from __future__ import annotations

import os
import posixpath

NOTEBOOK_SUFFIX = ".ipynb"


def pipeline_name_for(path: str | os.PathLike[str]) -> str:
    """``"dir/wine.ipynb"`` -> ``"wine"``: the file name without its folder and its ``.ipynb`` suffix.

    "/" always separates (paths on the REST API use it) and so does the platform's own separator, so the same notebook
    gets the same name whichever way it came in."""
    return os.path.basename(posixpath.basename(os.fspath(path))).removesuffix(NOTEBOOK_SUFFIX)
