"""Reading notebooks and their pipeline metadata: JSON reading, tags, settings, IPython-to-Python cell transform.

Plain Python: must not import tornado, jupyter_server or nbformat (nbformat costs seconds to import).
"""

from .naming import pipeline_name_for
from .reader import cell_source, load_notebook, validate_notebook

__all__ = ["cell_source", "load_notebook", "pipeline_name_for", "validate_notebook"]
