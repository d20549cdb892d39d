"""Static analysis of a tagged notebook: names bound, read and modified per cell, the flow of values between steps,
and diagnostics. ``analyze`` is the public entry point; it returns the typed Pipeline.

Uses only the stdlib ast and IPython's input transformer (imported lazily). Must not import tornado or jupyter_server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..pipeline.model import Pipeline


def analyze(nb: dict[str, Any], *, name: str | None = None) -> Pipeline:
    """Analyze a notebook dict (nbformat 4 JSON). ``name`` is used when the notebook metadata names no pipeline.

    Raises NotebookError when ``nb`` is not a notebook, or is nested too deeply to read at all; problems in the
    notebook's cells (a cell too complex to parse or analyze included) are diagnostics on their cells.
    """
    import gc

    from ..errors import NotebookError
    from ..syntax import AST_LOCK
    from .builder import build_pipeline

    # The analysis allocates many small acyclic objects (AST nodes, events); the cyclic collector's full passes over
    # a growing heap would make the run time superlinear in the notebook size, so it is paused meanwhile.
    # The lock: the server analyzes on executor threads beside the runner's threads (see kale_ext.syntax).
    with AST_LOCK:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return build_pipeline(nb, name=name)
        except (RecursionError, MemoryError) as exc:  # cells catch their own: this is the notebook's structure
            raise NotebookError(
                f"the notebook is nested too deeply to read ({type(exc).__name__}); expected nbformat-4 JSON whose "
                "metadata is a few levels deep: remove the deeply nested metadata",
                code="notebook.too_complex",
            ) from None
        finally:
            if enabled:
                gc.enable()


def format_text(pipeline: Pipeline) -> str:
    from .summary import format_text as _format

    return _format(pipeline)


__all__ = ["analyze", "format_text"]
