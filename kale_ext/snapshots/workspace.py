"""What a workspace snapshot contains: the walk of a folder (and further paths) honouring ``.kaleignore``.

``scan(root, skip=..., paths=...)`` lists every folder, regular file and symlink under ``root`` as an Entry with its
relative "/"-separated path and its ``lstat``: symlinks are recorded as links and never followed; sockets, FIFOs and
devices are left out. ``root/.kaleignore`` is read with gitignore syntax (pathspec's GitIgnoreSpec, the rules git
applies: ``!`` re-includes, a trailing ``/`` matches folders only, an ignored folder is not entered). The folders in
``skip`` (the store itself, which by default is ``.kale/`` inside the notebook's folder) and any folder holding a
store's ``kale.db`` (the notebook's old ``.kale/`` while KALE_EXT_HOME points elsewhere) are never entered, whatever
the ignore file says; ``.git`` is the user's and is kept unless ignored.

A further path inside ``root`` is taken even when ``.kaleignore`` ignores it; one outside ``root`` is recorded under
``EXTERNAL`` + its absolute path (``.kale-external/data/train.csv`` for ``/data/train.csv``), so a restore puts it
inside the target folder, never back over the original.

Plain Python plus pathspec; never imports tornado or jupyter_server.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pathspec

from .errors import SnapshotError

IGNORE_FILE = ".kaleignore"
EXTERNAL = ".kale-external"
STORE_DB = "kale.db"  # a folder holding one is a kale-ext store (this one or another): never workspace content


@dataclass
class Entry:
    path: str  # relative to the root, "/"-separated
    source: str  # where it is on disk now
    kind: str  # "file", "link" or "dir"
    st: os.stat_result
    target: str | None = None  # a symlink's target


def missing(what: str, where: str) -> SnapshotError:
    return SnapshotError(
        f"The {what} {where} does not exist (or is not a folder). Fix: pass an existing folder.",
        code="snapshot.workspace_missing",
        details={"path": where},
    )


def ignore_spec(root: str) -> pathspec.GitIgnoreSpec | None:
    try:
        with open(os.path.join(root, IGNORE_FILE), encoding="utf-8") as f:
            return pathspec.GitIgnoreSpec.from_lines(f.read().splitlines())
    except FileNotFoundError:
        return None


def external_name(path: str) -> str:
    return EXTERNAL + "/" + os.path.abspath(path).lstrip(os.sep).replace(os.sep, "/")


def resolve_paths(root: str, paths: Iterable[str]) -> list[tuple[str, str]]:
    """(absolute path, relative name) of each further path; a missing one is an error."""
    out = []
    for p in paths:
        full = os.path.abspath(os.path.join(root, os.path.expanduser(p)))
        if not os.path.lexists(full):
            raise missing("further workspace path", full)
        inside = os.path.commonpath([os.path.realpath(full), root]) == root
        rel = os.path.relpath(os.path.realpath(full), root).replace(os.sep, "/") if inside else external_name(full)
        out.append((full, rel))
    return out


def scan(root: str, *, skip: Sequence[str] = (), paths: Sequence[str] = ()) -> list[Entry]:
    """Every entry of the workspace ``root`` (a real path), sorted by path."""
    if not os.path.isdir(root):
        raise missing("workspace folder", root)
    skipped = {os.path.realpath(s) for s in skip}
    found: dict[str, Entry] = {}
    _walk(root, "", ignore_spec(root), skipped, found)
    for full, rel in resolve_paths(root, paths):
        if rel == ".":
            continue
        _add_parents(rel, full, found)
        entry = _entry(full, rel)
        if entry is not None:
            found[rel] = entry
            if entry.kind == "dir" and os.path.realpath(full) not in skipped:
                _walk(full, rel + "/", None, skipped, found)
    return [found[k] for k in sorted(found)]


def _walk(folder: str, prefix: str, spec, skipped: set[str], found: dict[str, Entry]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise SnapshotError(
            f"Cannot read the folder {folder} ({exc.strerror}). Fix: make it readable, or list it in {IGNORE_FILE}.",
            code="snapshot.unreadable",
            details={"path": folder},
        ) from None
    for e in entries:
        rel = prefix + e.name
        try:
            st = e.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # deleted while the folder was read
        is_dir = stat.S_ISDIR(st.st_mode)
        if is_dir and (os.path.realpath(e.path) in skipped or os.path.isfile(os.path.join(e.path, STORE_DB))):
            continue
        if spec is not None and spec.match_file(rel + "/" if is_dir else rel):
            continue
        entry = _entry(e.path, rel, st)
        if entry is None:
            continue
        found[rel] = entry
        if is_dir:
            _walk(e.path, rel + "/", spec, skipped, found)


def _entry(full: str, rel: str, st: os.stat_result | None = None) -> Entry | None:
    st = st or os.lstat(full)
    if stat.S_ISLNK(st.st_mode):
        return Entry(rel, full, "link", st, os.readlink(full))
    if stat.S_ISDIR(st.st_mode):
        return Entry(rel, full, "dir", st)
    if stat.S_ISREG(st.st_mode):
        return Entry(rel, full, "file", st)
    return None  # sockets, FIFOs, devices: not workspace content


def _add_parents(rel: str, full: str, found: dict[str, Entry]) -> None:
    """The folders leading to a further path, so a restore recreates them (with their modes where they exist)."""
    parts = rel.split("/")[:-1]
    here = os.path.dirname(full)
    dirs = []
    for i in range(len(parts), 0, -1):
        dirs.append(("/".join(parts[:i]), here))
        here = os.path.dirname(here)
    for name, where in dirs:
        if name not in found:
            found[name] = Entry(name, where, "dir", os.lstat(where))
