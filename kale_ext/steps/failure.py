"""Step failures: one typed value for every way a step can fail, built here and nowhere else.

A step's result and its record in the store carry the failure as ``error``, the JSON of a StepFailure:
``{type, message, cell, line, traceback}`` (cell: 0-based notebook cell index, line: 1-based, both None when no notebook
cell is to blame). Three builders cover every case: ``from_exception`` (the user's code or the runtime raised inside the
step process), ``launcher_died`` (the warm launcher ended under its running steps) and ``process_exited`` (a step
process ended without writing its result).

The code of notebook cells runs under the file names made here (``<cell N>``, ``<imports of step S>``), so that the
failure can point at the notebook cell and line. Standard library only: every step process imports this module.
"""

from __future__ import annotations

import traceback as tb_module
from dataclasses import dataclass
from typing import Any

CELL_PREFIX = "<cell "
IMPORTS_PREFIX = "<imports of step "


class StepError(Exception):
    """A failure of the step that is not an exception of the user's code (missing output, unserializable value)."""


def cell_filename(index: int) -> str:
    """The file name a notebook cell's code is compiled with: tracebacks then name the notebook cell."""
    return f"{CELL_PREFIX}{index}>"


def imports_filename(step: str) -> str:
    """The file name of the import lines a step re-runs (names imported by other steps)."""
    return f"{IMPORTS_PREFIX}{step}>"


def cell_of(filename: str | None) -> int | None:
    """The notebook cell index named by ``cell_filename``, or None for any other file."""
    if not filename or not filename.startswith(CELL_PREFIX) or not filename.endswith(">"):
        return None
    try:
        return int(filename[len(CELL_PREFIX) : -1])
    except ValueError:
        return None


@dataclass(frozen=True)
class StepFailure:
    """Why a step failed: what went wrong, where in the notebook, and the traceback its readers see."""

    type: str
    message: str
    cell: int | None = None
    line: int | None = None
    traceback: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "cell": self.cell,
            "line": self.line,
            "traceback": self.traceback,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepFailure:
        return cls(
            type=str(data.get("type", "")),
            message=str(data.get("message", "")),
            cell=data.get("cell"),
            line=data.get("line"),
            traceback=str(data.get("traceback") or ""),
        )

    @classmethod
    def from_exception(cls, exc: BaseException) -> StepFailure:
        """The exception with the notebook cell and line of its innermost notebook frame, and a traceback that starts
        at the first notebook frame (the runtime's own frames are not the user's concern)."""
        first_notebook_tb = None
        cell = line = None
        tb = exc.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            frame_cell = cell_of(filename)
            if frame_cell is not None or filename.startswith(IMPORTS_PREFIX):
                if first_notebook_tb is None:
                    first_notebook_tb = tb
                if frame_cell is not None:
                    cell, line = frame_cell, tb.tb_lineno
            tb = tb.tb_next
        if isinstance(exc, SyntaxError) and cell_of(exc.filename) is not None:
            cell, line = cell_of(exc.filename), exc.lineno
        name = type(exc).__name__
        if _is_plain(exc):
            text = f"{name}: {exc}\n"
        else:
            text = "".join(tb_module.format_exception(type(exc), exc, first_notebook_tb or exc.__traceback__))
        return cls(type=name, message=f"{name}: {exc}", cell=cell, line=line, traceback=text)

    @classmethod
    def launcher_died(cls, code: int, log: str) -> StepFailure:
        return cls(type="LauncherDied", message=f"The step launcher exited with code {code}; see {log}.")

    @classmethod
    def process_exited(cls, code: int) -> StepFailure:
        return cls(
            type="ProcessExited", message=f"The step process exited with code {code} without a result; see its log."
        )


def _is_plain(exc: BaseException) -> bool:
    """Failures whose message says everything (the runtime's and the serializers' own): no traceback for them.
    SerializationError is matched by name: importing kale_ext.marshal here would load the serializers in every process
    that only reads failures."""
    return isinstance(exc, StepError) or type(exc).__name__ == "SerializationError"
