"""A code cell as Python the analysis can parse: IPython syntax (magics, !shell, x = !cmd, %%capture) is turned into
Python by ``ipython.to_python`` (IPython's own TransformerManager, shared with the step runtime), only for cells that
need it.

Plain Python cells go straight to ast.parse, which keeps `kale-ext analyze` fast.
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .ipython import to_python

# A line that can only be IPython: a magic, a shell escape, help, or an assignment from one.
_IPYTHON_LINE = re.compile(r"^\s*(%|!|\?)|^\s*[\w.,\s\[\]()*]+=\s*[!%]|\?\s*$", re.MULTILINE)
# SyntaxError messages of CPython's fixed parser limits: the code may be valid, but too deep for the parser.
_PARSER_LIMITS = ("too many nested", "too many levels of indentation", "too many statically nested", "too complex")


@dataclass
class ParsedCell:
    """The parse of one cell: a module AST (None on a syntax error) and, for errors, the 1-based line and message.
    ``too_complex``: the cell exceeds a limit of the parser (nesting, recursion, parser stack), not Python's grammar."""

    tree: ast.Module | None
    ipython: bool = False
    error_line: int | None = None
    error: str | None = None
    too_complex: bool = False


def parse_cell(source: str) -> ParsedCell:
    """Parse a cell; fall back to IPython's transformer only when the cell is not plain Python."""
    try:
        return ParsedCell(ast.parse(source))
    except SyntaxError as exc:
        if _is_parser_limit(exc):
            return ParsedCell(None, error_line=_clamp(exc.lineno, source), error=exc.msg, too_complex=True)
        first = exc
    except ValueError as exc:  # null bytes
        return ParsedCell(None, error_line=1, error=str(exc))
    except (RecursionError, MemoryError) as exc:  # a chain or nesting too deep for the parser's recursion or stack
        return _too_complex(exc)
    if not _IPYTHON_LINE.search(source):
        return ParsedCell(None, error_line=_clamp(first.lineno, source), error=first.msg)
    try:
        python = to_python(source)
        return ParsedCell(ast.parse(python), ipython=True)
    except SyntaxError as exc:
        limit = _is_parser_limit(exc)
        return ParsedCell(None, ipython=True, error_line=_clamp(exc.lineno, source), error=exc.msg, too_complex=limit)
    except (RecursionError, MemoryError) as exc:
        return _too_complex(exc, ipython=True)
    except Exception as exc:  # IPython's transformer can fail on odd input: report it as a syntax error
        return ParsedCell(None, ipython=True, error_line=_clamp(first.lineno, source), error=str(exc) or first.msg)


def parse_snippet(code: str) -> ast.Module | None:
    """Parse code found inside a magic (the body of %%capture, the argument of %time); None if it is not Python."""
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        try:
            return ast.parse(to_python(code))
        except Exception:
            return None


def _is_parser_limit(exc: SyntaxError) -> bool:
    return any(limit in (exc.msg or "") for limit in _PARSER_LIMITS)


def _too_complex(exc: BaseException, ipython: bool = False) -> ParsedCell:
    what = str(exc) if isinstance(exc, RecursionError) and str(exc) else "the parser ran out of stack"
    return ParsedCell(None, ipython=ipython, error=f"{type(exc).__name__}: {what}", too_complex=True)


def _clamp(line: int | None, source: str) -> int:
    n = max(1, source.count("\n") + 1)
    return min(max(line or 1, 1), n)
