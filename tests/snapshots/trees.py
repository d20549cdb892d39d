"""Helpers of the snapshot tests: build a real workspace with every kind of entry, and read a tree for comparison."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def make_workspace(root: Path, big: int = 6 << 20) -> Path:
    """Modes, an empty file and folder, nested folders, unicode names, symlinks (to a file, a folder, nowhere), a
    file large enough to be cut in chunks (above chunking.SMALL, 4 MiB), and a read-only folder."""
    (root / "data" / "raw" / "deep").mkdir(parents=True)
    (root / "empty-folder").mkdir()
    (root / "notebook.ipynb").write_text('{"cells": []}\n')
    (root / "empty.txt").write_bytes(b"")
    (root / "data" / "raw" / "deep" / "values.csv").write_text("a,b\n1,2\n")
    (root / "data" / "données-é漢字.txt").write_text("unicode name\n", encoding="utf-8")
    script = root / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    secret = root / "secret.txt"
    secret.write_text("private\n")
    secret.chmod(0o600)
    (root / "data" / "big.bin").write_bytes(os.urandom(big))
    os.symlink("notebook.ipynb", root / "link-to-file")
    os.symlink("data/raw", root / "link-to-folder")
    os.symlink("does/not/exist", root / "dangling")
    (root / "data" / "readonly").mkdir()
    (root / "data" / "readonly" / "kept.txt").write_text("in a read-only folder\n")
    (root / "data" / "readonly").chmod(0o555)
    return root


def tree(root: Path, skip: tuple[str, ...] = (".kale",)) -> dict[str, tuple]:
    """{relative path: (kind, mode, content or link target, mtime_ns for files)} of everything under root."""
    out: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(rel_folder, d)) not in skip]
        for name in dirs + files:
            full = os.path.join(folder, name)
            rel = os.path.normpath(os.path.join(rel_folder, name))
            st = os.lstat(full)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode)
            else:
                out[rel] = ("file", mode, Path(full).read_bytes(), st.st_mtime_ns)
    return out
