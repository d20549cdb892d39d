"""StepFailure: the one value every step failure is, whether the user's code raised or a process died."""

from __future__ import annotations

import linecache

import pytest

from kale_ext.steps.failure import StepError, StepFailure, cell_filename, cell_of, imports_filename


def _raise_in(source: str, filename: str) -> BaseException:
    """Run ``source`` compiled as ``filename`` (as the runtime runs a cell) and return what it raised."""
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    try:
        exec(compile(source, filename, "exec"), {"__name__": "__main__"})
    except BaseException as exc:  # noqa: BLE001 - the exception is the subject
        return exc
    raise AssertionError("the source did not raise")


def test_json_has_todays_keys_and_round_trips():
    failure = StepFailure("NameError", "NameError: name 'x' is not defined", 4, 2, "Traceback ...\n")
    data = failure.to_json()
    assert data == {
        "type": "NameError",
        "message": "NameError: name 'x' is not defined",
        "cell": 4,
        "line": 2,
        "traceback": "Traceback ...\n",
    }
    assert StepFailure.from_json(data) == failure


def test_exception_points_at_innermost_notebook_cell_and_hides_frames_before_the_first():
    ns: dict = {"__name__": "__main__"}
    helper = "def crash(v):\n    return 10 / v\n"
    linecache.cache[cell_filename(2)] = (len(helper), None, helper.splitlines(keepends=True), cell_filename(2))
    exec(compile(helper, cell_filename(2), "exec"), ns)
    step = "x = 1\ny = crash(0)\n"
    linecache.cache[cell_filename(7)] = (len(step), None, step.splitlines(keepends=True), cell_filename(7))
    try:
        exec(compile(step, cell_filename(7), "exec"), ns)
    except ZeroDivisionError as exc:
        failure = StepFailure.from_exception(exc)
    assert (failure.type, failure.cell, failure.line) == ("ZeroDivisionError", 2, 2)
    assert failure.message == "ZeroDivisionError: division by zero"
    assert failure.traceback.startswith("Traceback") and 'File "<cell 7>", line 2' in failure.traceback
    assert "test_failure.py" not in failure.traceback, "frames before the first notebook frame are not shown"


def test_import_lines_count_as_notebook_frames_without_a_cell():
    exc = _raise_in("import no_such_module_for_kale\n", imports_filename("train"))
    failure = StepFailure.from_exception(exc)
    assert (failure.type, failure.cell, failure.line) == ("ModuleNotFoundError", None, None)
    assert "<imports of step train>" in failure.traceback and "test_failure.py" not in failure.traceback


def test_syntax_error_names_its_cell():
    try:
        compile("x = (1,\n", cell_filename(4), "exec")
    except SyntaxError as exc:
        failure = StepFailure.from_exception(exc)
    assert (failure.type, failure.cell) == ("SyntaxError", 4)
    assert failure.line is not None and failure.line >= 1


def test_failures_of_the_step_itself_carry_their_message_only():
    failure = StepFailure.from_exception(StepError("Step 's' ended without defining 'y'."))
    assert failure.traceback == "StepError: Step 's' ended without defining 'y'.\n"
    assert (failure.cell, failure.line) == (None, None)


def test_exception_outside_any_cell_keeps_its_whole_traceback():
    try:
        raise KeyError("k")
    except KeyError as exc:
        failure = StepFailure.from_exception(exc)
    assert (failure.cell, failure.line) == (None, None)
    assert "test_failure.py" in failure.traceback and failure.message == "KeyError: 'k'"


def test_process_failures():
    died = StepFailure.launcher_died(-9, "/runs/r1/launcher.log")
    assert died.to_json() == {
        "type": "LauncherDied",
        "message": "The step launcher exited with code -9; see /runs/r1/launcher.log.",
        "cell": None,
        "line": None,
        "traceback": "",
    }
    exited = StepFailure.process_exited(3).to_json()
    assert exited["type"] == "ProcessExited" and "exited with code 3 without a result" in exited["message"]
    assert (exited["cell"], exited["line"], exited["traceback"]) == (None, None, "")


@pytest.mark.parametrize(
    ("filename", "cell"),
    [
        ("<cell 0>", 0),
        ("<cell 12>", 12),
        ("<cell x>", None),
        ("<imports of step a>", None),
        ("/a/b.py", None),
        (None, None),
    ],
)
def test_cell_of(filename, cell):
    assert cell_of(filename) == cell
