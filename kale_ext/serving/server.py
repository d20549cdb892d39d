"""The local inference server process: ``python -m kale_ext.serving.server --state STATE_JSON`` or ``serve(...)``.

Reads the served models from state.json (contract 2) and reloads it on SIGHUP and whenever its mtime changes (checked
every 0.5 s); writes server.json ({"pid", "token", "host", "port", "url", "started"}) once it listens and removes it
on a clean stop (SIGINT/SIGTERM), after answering the requests in flight (up to 10 s); appends one line per model
request to requests.log (``TIME MODEL VERSION PROTOCOL METHOD PATH STATUS LATENCY_MS``, flushed with the mtime check;
past 16 MiB it moves to requests.log.1). Binds 127.0.0.1 by default. Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import KaleError
from ..runners.local.identity import process_token
from .endpoints import Endpoints, Response
from .http import HttpProtocol
from .metrics import Metrics
from .registry import Limits, Registry, build_registry, read_state

log = logging.getLogger("kale_ext.serving")
RELOAD_INTERVAL_S = 0.5
INFERENCE_SUFFIXES = (":predict", ":explain", "/infer")
START_LOAD_TIMEOUT_S = 30.0  # how long a start waits for its models before announcing itself anyway
LOG_ROTATE_BYTES = 16 * 1024 * 1024
DRAIN_TIMEOUT_S = 10.0


class InferenceServer:
    """The server's state and lifecycle; ``run()`` blocks, ``start_in_thread()`` is for tests and embedding."""

    def __init__(self, state_path: str, host: str = "127.0.0.1", port: int = 8080, **limits: Any):
        self.state_path = os.path.abspath(state_path)
        self.folder = os.path.dirname(self.state_path)
        self.host, self.port = host, port
        self.limits = Limits(**limits)
        self.metrics = Metrics()
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kale-serving")
        # Model directories load on their own threads, so that a slow load never takes a predict thread.
        self.loader = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kale-serving-load")
        self.registry = Registry()
        self.endpoints = Endpoints(lambda: self.registry, self.executor, self.metrics)
        self._mtime: float | None = None
        self._log_lines: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._reloading = False
        self._connections: set[HttpProtocol] = set()
        self.ready = threading.Event()

    # state
    def _state_mtime(self) -> float | None:
        try:
            return os.stat(self.state_path).st_mtime_ns
        except OSError:
            return None

    async def reload(self) -> None:
        """Rebuild the registry from state.json off the loop; an unreadable state keeps the current models."""
        if self._reloading:
            return
        self._reloading = True
        try:
            self._mtime = self._state_mtime()
            models = read_state(self.state_path)
            old = self.registry
            loop = asyncio.get_running_loop()
            self.registry = await loop.run_in_executor(
                self.executor, build_registry, models, old, self.executor, self.metrics, self.limits, self.loader
            )
            log.info("serving state loaded: %s", ", ".join(self.registry.models) or "no models")
        except KaleError as e:
            log.error("%s; keeping the models served before", e.message)
        finally:
            self._reloading = False

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(RELOAD_INTERVAL_S)
            self._flush_log()
            if self._state_mtime() != self._mtime:
                await self.reload()

    # requests.log
    def _observe(self, method: str, url: str, response: Response, seconds: float) -> None:
        if response.model is None:
            return
        path = url.partition("?")[0].replace(" ", "%20")
        # The metrics count inference (predict, infer, explain), not the metadata and readiness probes of clients
        # and of the manager; the request log has every request that names a model.
        if response.model in self.registry.models and path.endswith(INFERENCE_SUFFIXES):
            self.metrics.observe_request(response.model, response.version, response.protocol, response.status, seconds)
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self._log_lines.append(
            f"{stamp} {response.model.replace(' ', '_')} {response.version} {response.protocol} {method} {path} "
            f"{response.status} {seconds * 1000:.3f}\n"
        )
        if len(self._log_lines) >= 1000:
            self._flush_log()

    def _flush_log(self) -> None:
        if not self._log_lines:
            return
        lines, self._log_lines = self._log_lines, []
        path = os.path.join(self.folder, "requests.log")
        try:
            if os.path.exists(path) and os.path.getsize(path) > LOG_ROTATE_BYTES:
                os.replace(path, path + ".1")  # one old file kept: the log never grows without bound
            with open(path, "a", encoding="utf-8") as f:
                f.writelines(lines)
        except OSError as e:
            log.error("cannot append to requests.log: %s", e)

    # server.json
    def _write_server_json(self) -> None:
        info = {
            "pid": os.getpid(),
            "token": process_token(os.getpid()),
            "host": self.host,
            "port": self.port,
            "url": f"http://{self.host}:{self.port}",
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        path = os.path.join(self.folder, "server.json")
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(info, f)
        os.replace(tmp, path)

    def _remove_server_json(self) -> None:
        path = os.path.join(self.folder, "server.json")
        try:
            with open(path, encoding="utf-8") as f:
                if json.load(f).get("pid") == os.getpid():
                    os.unlink(path)
        except (OSError, ValueError):
            pass

    # lifecycle
    async def main(self, *, write_server_json: bool = True) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        os.makedirs(self.folder, exist_ok=True)
        await self.reload()

        def factory() -> HttpProtocol:
            return HttpProtocol(self.endpoints.handle, self._observe, self.limits.max_body_bytes, self._connections)

        server = await self._loop.create_server(factory, self.host, self.port, reuse_address=True, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(sig, self._stopped.set)
            loop = self._loop
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload()))
        watcher = self._loop.create_task(self._watch())
        # Live at once (health answers, a model still loading answers 503), but announced (server.json, ready) once the
        # models of the state it started with are loaded or have failed, or after START_LOAD_TIMEOUT_S.
        deadline = time.monotonic() + START_LOAD_TIMEOUT_S
        while self._loading() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        gc.freeze()  # the loaded models never become garbage: keep them out of every collection's scan (tail latency)
        if write_server_json:
            self._write_server_json()
        log.info("serving on http://%s:%s", self.host, self.port)
        self.ready.set()
        try:
            await self._stopped.wait()
        finally:
            watcher.cancel()
            server.close()
            await self._drain()
            await server.wait_closed()
            self._flush_log()
            if write_server_json:
                self._remove_server_json()
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.loader.shutdown(wait=False, cancel_futures=True)

    async def _drain(self, timeout: float = DRAIN_TIMEOUT_S) -> None:
        """On stop: answer the requests already received (up to ``timeout``), then close every connection."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(c.busy for c in self._connections) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for connection in list(self._connections):
            connection.close()

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)

    def start_in_thread(self, *, write_server_json: bool = False, timeout: float = 60) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: _run_loop(self.main(write_server_json=write_server_json)), daemon=True, name="kale-serving"
        )
        thread.start()
        if not self.ready.wait(timeout):
            raise RuntimeError("the inference server did not start")
        self.wait_loaded(timeout)
        return thread

    def _loading(self) -> bool:
        return any(v.loading for m in self.registry.models.values() for v in m.versions.values())

    def wait_loaded(self, timeout: float = 60) -> bool:
        """Wait until no model of the current state is still loading (loaded or failed); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._loading():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True


def _run_loop(coro: Any) -> None:
    try:
        import uvloop  # the faster event loop when installed (uvicorn's choice); asyncio's own otherwise
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def serve(state_path: str, host: str = "127.0.0.1", port: int = 8080, **limits: Any) -> None:
    """Serve the models of ``state_path`` until SIGINT/SIGTERM (what ``kale-ext serve --foreground`` calls). As a KServe
    transformer, ``predictor_host=HOST`` (and ``protocol``) call the models at that predictor (see remote.py)."""
    _run_loop(InferenceServer(state_path, host, port, **limits).main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kale_ext.serving.server", description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True, help="the serving state.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--max-body-bytes", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-batch-wait-ms", type=float, default=2.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        serve(
            args.state,
            args.host,
            args.port,
            max_body_bytes=args.max_body_bytes,
            max_batch_size=args.max_batch_size,
            max_batch_wait_ms=args.max_batch_wait_ms,
        )
    except OSError as e:
        print(f"kale-ext serving: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
