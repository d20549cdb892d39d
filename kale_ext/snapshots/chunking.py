"""How a file becomes chunks: one object up to ``SMALL`` bytes, content-defined chunks (FastCDC) above.

Content-defined chunking (pyfastcdc: FastCDC 2020 in Cython, the cutting loop without the GIL) places cut points where
the content says, so bytes changed inside a large file move only the cut points around them: the chunks before and
after are the same as last time and are found stored already. Chunks average ~320 KiB (256 KiB + the 64 KiB minimum,
at most 1 MiB), so a 1 MB change stores about 1.5 MB. A large file is read through a read-only mapping advised
sequential (the kernel then reads ahead in large requests; a cold mapping without the advice faults 4 KiB pages in at
a third of the disk's speed) and no chunk is copied before it is hashed and written.

Plain Python plus pyfastcdc; never imports tornado or jupyter_server.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pyfastcdc

from .objects import HASH_PREFIX, digest, file_hash_of

SMALL = 4 << 20
AVG, MIN, MAX = 256 << 10, 64 << 10, 1 << 20  # the chunk sizes


@contextmanager
def mapped(path: str) -> Iterator[memoryview | None]:
    """The file's bytes as a memoryview of a read-only mapping (None for an empty file)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            yield None
            return
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
            m.madvise(mmap.MADV_SEQUENTIAL)
            view = memoryview(m)
            try:
                yield view
            finally:
                view.release()


def cut(view: memoryview) -> Iterator[memoryview]:
    """The chunks of ``view`` in order (views into it: release each when done with it)."""
    for chunk in pyfastcdc.FastCDC(AVG, min_size=MIN, max_size=MAX).cut_buf(view):
        yield chunk.data


def file_hash(path: str, like: str = "") -> str:
    """The hash a snapshot would record for the file at ``path`` now, without storing anything. ``like`` is the hash
    recorded for it before: a file recorded as one object (a large file deduplicated with a run artifact) is hashed
    whole, as it was."""
    size = os.path.getsize(path)
    if size <= SMALL or like.startswith(HASH_PREFIX):
        with mapped(path) as view:
            return HASH_PREFIX + digest(b"" if view is None else view)
    hashes = []  # a large file: the hash list of its chunks
    with mapped(path) as view:
        for data in cut(view) if view is not None else ():
            hashes.append(digest(data))
            data.release()
    return file_hash_of(hashes)
