"""HTTP/1.1 for the inference server: asyncio with httptools (the C parser uvicorn uses), keep-alive, a body limit.

One HttpProtocol per connection. Requests of one connection are answered in order (pipelined requests wait for the one
before); requests of different connections run concurrently, so a slow model call on one connection never holds up
another. A body larger than ``max_body_bytes`` (declared or streamed) is answered 413 and the connection closed; a
request that is not HTTP is answered 400 and closed; a connection idle for KEEP_ALIVE_S is closed.
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import httptools

from .endpoints import Response

log = logging.getLogger("kale_ext.serving")
Handler = Callable[[str, str, bytes], Awaitable[Response]]
Observer = Callable[[str, str, Response, float], None]
_REASONS = {s.value: s.phrase for s in HTTPStatus}
KEEP_ALIVE_S = 5.0  # an idle keep-alive connection is closed after this long (uvicorn's default, so KServe's too)


def _head(status: int, content_type: str, length: int, keep_alive: bool) -> bytes:
    return (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
        f"content-type: {content_type}\r\ncontent-length: {length}\r\n"
        f"{'' if keep_alive else 'connection: close' + chr(13) + chr(10)}\r\n"
    ).encode("latin-1")


class HttpProtocol(asyncio.Protocol):
    def __init__(self, handler: Handler, observe: Observer, max_body_bytes: int, connections: set | None = None):
        self._connections = connections if connections is not None else set()
        self._handler = handler
        self._observe = observe
        self._max_body = max_body_bytes
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []
        self._size = 0
        self._refused = False
        self._expect_continue = False
        self._queue: deque[tuple[str, str, bytes, bool, float]] = deque()
        self._busy = False
        self._idle: asyncio.TimerHandle | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._connections.add(self)
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._connections.discard(self)
        if self._idle is not None:
            self._idle.cancel()

    def _arm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(KEEP_ALIVE_S, self._close_if_idle)

    def _close_if_idle(self) -> None:
        if not self.busy:
            self.close()
        else:
            self._arm_idle()

    @property
    def busy(self) -> bool:
        """A request of this connection is being answered or waits its turn."""
        return self._busy or bool(self._queue)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, b'{"detail":"Upgrade is not supported"}')
        except httptools.HttpParserError as e:
            if not self._refused:
                self._refuse(400, b'{"detail":"Invalid HTTP request: ' + str(e).encode("latin-1", "replace") + b'"}')

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url, self._body, self._size, self._expect_continue = b"", [], 0, False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-length" and value.strip().isdigit() and int(value) > self._max_body:
            self._too_large()
        elif name.lower() == b"expect" and value.strip().lower() == b"100-continue":
            self._expect_continue = True

    def on_headers_complete(self) -> None:
        # curl asks before sending bodies over 1 KiB; without this answer it waits a second before sending anyway
        if self._expect_continue and not self._refused and self._transport is not None:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max_body:
            self._too_large()
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        request = (
            self._parser.get_method().decode("latin-1"),
            self._url.decode("latin-1"),
            b"".join(self._body),
            self._parser.should_keep_alive(),
            time.perf_counter(),
        )
        self._queue.append(request)
        if not self._busy:
            self._busy = True
            asyncio.get_running_loop().create_task(self._serve())

    def _too_large(self) -> None:
        message = f'{{"error":"Request body exceeds the limit of {self._max_body} bytes."}}'.encode()
        self._refuse(413, message)
        raise httptools.HttpParserCallbackError("body too large")

    def _refuse(self, status: int, body: bytes) -> None:
        self._refused = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(_head(status, "application/json", len(body), False) + body)
            self._transport.close()

    async def _serve(self) -> None:
        try:
            while self._queue:
                method, url, body, keep_alive, started = self._queue.popleft()
                response = await self._handler(method, url, body)
                if self._transport is None or self._transport.is_closing():
                    return
                payload = b"" if method == "HEAD" else response.body
                head = _head(response.status, response.content_type, len(response.body), keep_alive)
                self._transport.write(head + payload)
                self._observe(method, url, response, time.perf_counter() - started)
                if not keep_alive:
                    self._transport.close()
                    return
        finally:
            self._busy = False
            if self._transport is not None and not self._transport.is_closing():
                self._arm_idle()
