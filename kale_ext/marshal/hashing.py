"""Content hashes computed while a file is written: a second thread hashes the chunks the serializer writes (hashlib
and file writes both release the GIL), so the hash of a large value costs almost no extra wall time.

Hashes are ``"sha256:<hex>"`` of the file's bytes. Plain Python; no third-party imports.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from typing import Any

MAIN_MARKER = b"__main__"


class HashingWriter:
    """A write-only file wrapper that hashes what passes through and notices references to ``__main__``.

    Chunks handed over as ``bytes`` or read-only buffers of the value being saved stay unchanged while the save runs;
    mutable ``bytearray`` chunks are copied because a writer may reuse them.
    """

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.refers_to_main = False
        self._tail = b""
        self._queue: queue.Queue = queue.Queue(maxsize=32)
        self._thread = threading.Thread(target=self._run, name="kale-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self.hash.update(chunk)

    def write(self, data: Any) -> int:
        if isinstance(data, bytearray):
            data = bytes(data)
        if isinstance(data, bytes) and not self.refers_to_main:
            # Pickle opcodes (module names included) arrive as bytes; raw array buffers arrive as memoryviews.
            window = self._tail + data[: len(MAIN_MARKER)]
            self.refers_to_main = MAIN_MARKER in data or MAIN_MARKER in window
            self._tail = data[-(len(MAIN_MARKER) - 1) :]
        self._queue.put(data)  # hashed while it is written: both only read the chunk
        written = self.raw.write(data)
        return written if written is not None else len(data)

    def flush(self) -> None:
        self.raw.flush()

    def finish(self) -> str:
        self._queue.put(None)
        self._thread.join()
        return "sha256:" + self.hash.hexdigest()

    def abort(self) -> None:
        self._queue.put(None)
        self._thread.join()


def dump_hashed(dump, value: Any, path: str) -> tuple[str, bool]:
    """``dump(value, file)`` into ``path``; returns (content hash, whether the stream names ``__main__``)."""
    with open(path, "wb") as f:
        writer = HashingWriter(f)
        try:
            dump(value, writer)
        except BaseException:
            writer.abort()
            raise
        return writer.finish(), writer.refers_to_main
