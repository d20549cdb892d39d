"""Reading notebooks and their pipeline metadata: JSON reading, tags, settings, IPython-to-Python cell transform.

Plain Python: must not import tornado, jupyter_server or nbformat (nbformat costs seconds to import).
"""

from .reader import cell_source, load_notebook, validate_notebook

__all__ = ["cell_source", "load_notebook", "validate_notebook"]
