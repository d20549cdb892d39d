"""Thread-safe use of CPython's parser: one lock for every ast.parse / ast.literal_eval of kale_ext in a process.

CPython 3.11 and 3.12 keep the recursion depth of their C-AST -> Python-AST conversion in one per-interpreter counter,
so ast.parse in two threads at once can fail with "SystemError: AST constructor recursion depth mismatch" when the GIL
changes hands mid-conversion (a garbage collection running a finalizer is enough). The Jupyter server analyzes notebooks
on executor threads while the local runner's driver threads parse parameters and cells: both take AST_LOCK.
The one home of kale_ext's literal evaluation (parameter values, recorded parameters).
Plain Python; imports nothing from tornado or jupyter_server.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

AST_LOCK = threading.RLock()


def literal_eval(text: str) -> Any:
    """``ast.literal_eval`` that is safe to call from several threads at once."""
    with AST_LOCK:
        return ast.literal_eval(text)


def literal_or_text(text: str) -> Any:
    """The Python literal ``text`` spells (surrounding whitespace ignored), or ``text`` itself when it spells none."""
    try:
        return literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
