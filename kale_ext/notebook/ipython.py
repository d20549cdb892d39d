"""IPython syntax to Python, in one place: the analysis' cell parser and the step runtime both transform through here.

A cell keeps its IPython syntax (magics, !shell, ``x = !cmd``, %%capture, ?help) in the notebook; IPython's own
TransformerManager turns it into the Python a kernel would run. Its import costs about 0.2 s, so it is imported lazily,
once per process, and only for a cell that is not plain Python already.

Thread-safe without a lock: the transformer tokenizes and builds no Python AST, and the plain-Python check compiles to
bytecode (see ``needs_ipython``). Must not import tornado or jupyter_server.
"""

from __future__ import annotations

from typing import Any

_manager: Any = None


def _transformer() -> Any:
    global _manager
    if _manager is None:
        from IPython.core.inputtransformer2 import TransformerManager

        _manager = TransformerManager()
    return _manager


def to_python(source: str) -> str:
    """The Python IPython would run for ``source`` (always through IPython's transformer)."""
    return _transformer().transform_cell(source)


def needs_ipython(source: str) -> bool:
    """Whether ``source`` is not plain Python, so that only IPython's transformer can make Python of it."""
    # compile() to bytecode, not ast.parse: the runner calls this from its driver threads, and CPython (3.11, 3.12)
    # keeps the recursion depth of its C-AST -> Python-AST conversion in one per-interpreter counter, so ast.parse in two
    # threads at once can fail with "SystemError: AST constructor recursion depth mismatch" when the GIL changes hands
    # mid-conversion (a garbage collection running a finalizer is enough). Bytecode compilation builds no Python AST.
    try:
        compile(source, "<cell>", "exec", dont_inherit=True)
    except SyntaxError:
        return True
    return False


def transform(source: str) -> str:
    """``source`` as Python: plain Python unchanged (IPython is not even imported), IPython syntax transformed."""
    return to_python(source) if needs_ipython(source) else source
