"""Micro-batching per model version, as KServe's batcher: requests that arrive together become one predict call.

One worker coroutine per version, alive only while requests wait: it takes the queued inputs up to ``max_batch_size``
rows, stacks them (numpy arrays with the same trailing shape, or DataFrames), calls predict once in the thread pool
(never on the event loop, so a slow model never blocks other requests) and splits the result back by row counts.
Requests queue up while a batch runs, so under load batches form without any added wait; only when the previous batch
held several requests does the worker linger up to ``max_wait_s`` for a fuller batch, so a lone client pays no wait.
If the stacked call fails, each request is predicted on its own and gets its own answer or error.
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np


def _rows(x: Any) -> int | None:
    """Rows of a stackable input, None when the input cannot be stacked with others."""
    if isinstance(x, np.ndarray):
        return len(x) if x.ndim >= 1 and x.dtype.kind != "O" else None
    if type(x).__name__ == "DataFrame":
        return len(x)
    return None


def _stack(items: list[Any]) -> Any:
    if isinstance(items[0], np.ndarray):
        return np.concatenate(items, axis=0)
    import pandas as pd

    return pd.concat(items, axis=0, ignore_index=True)


class Batcher:
    def __init__(
        self,
        predict: Callable[[Any], Any],
        executor: Executor,
        *,
        max_batch_size: int = 32,
        max_wait_s: float = 0.002,
        on_batch: Callable[[int], None] | None = None,
    ):
        self._predict = predict
        self._executor = executor
        self.max_batch_size = max(1, max_batch_size)
        self.max_wait_s = max(0.0, max_wait_s)
        self._on_batch = on_batch
        self._queue: deque[tuple[Any, int, asyncio.Future]] = deque()
        self._worker: asyncio.Task | None = None
        self._arrived: asyncio.Event | None = None
        self.calls = 0  # predict calls made (tests count them)

    async def submit(self, x: Any) -> Any:
        """The model's output for ``x``; raises what predict raised for it."""
        loop = asyncio.get_running_loop()
        rows = _rows(x)
        if rows is None or rows == 0:
            self.calls += 1
            return await loop.run_in_executor(self._executor, self._predict, x)
        future = loop.create_future()
        self._queue.append((x, rows, future))
        if self._arrived is not None:
            self._arrived.set()
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._work())
        return await future

    def _take(self) -> tuple[list[tuple[Any, int, asyncio.Future]], int]:
        batch: list[tuple[Any, int, asyncio.Future]] = []
        total = 0
        while self._queue and (not batch or total + self._queue[0][1] <= self.max_batch_size):
            item = self._queue.popleft()
            batch.append(item)
            total += item[1]
        return batch, total

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        busy = False
        while self._queue:
            if busy and self.max_wait_s and len(self._queue) and self._queued_rows() < self.max_batch_size:
                await self._linger()
            batch, total = self._take()
            busy = len(batch) > 1
            if self._on_batch is not None:
                self._on_batch(total)
            self.calls += 1
            outcomes = await loop.run_in_executor(self._executor, self._execute, [item[0] for item in batch])
            for (_, _, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _queued_rows(self) -> int:
        return sum(item[1] for item in self._queue)

    async def _linger(self) -> None:
        """Wait up to max_wait_s, or until the queue holds a full batch."""
        deadline = asyncio.get_running_loop().time() + self.max_wait_s
        self._arrived = asyncio.Event()
        try:
            while self._queued_rows() < self.max_batch_size:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except asyncio.TimeoutError:
                    break
        finally:
            self._arrived = None

    def _execute(self, inputs: list[Any]) -> list[tuple[bool, Any]]:
        """In the thread pool: one stacked call, split back; one call per input when stacking or the call fails."""
        if len(inputs) > 1:
            try:
                result = self._predict(_stack(inputs))
                if len(result) == sum(len(x) for x in inputs):
                    bounds = np.cumsum([len(x) for x in inputs])[:-1]
                    return [(True, part) for part in _split(result, bounds)]
            except Exception:  # noqa: BLE001 - one bad request must not fail its batch: retried one by one below
                pass
        outcomes: list[tuple[bool, Any]] = []
        for x in inputs:
            try:
                outcomes.append((True, self._predict(x)))
            except Exception as e:  # noqa: BLE001 - the request's own error, answered as a 500 with its message
                outcomes.append((False, e))
        return outcomes


def _split(result: Any, bounds: Any) -> list[Any]:
    if isinstance(result, np.ndarray):
        return np.split(result, bounds)
    if isinstance(result, list):
        edges = [0, *bounds.tolist(), len(result)]
        return [result[a:b] for a, b in zip(edges, edges[1:], strict=False)]
    if type(result).__name__ == "DataFrame":
        edges = [0, *bounds.tolist(), len(result)]
        return [result.iloc[a:b] for a, b in zip(edges, edges[1:], strict=False)]
    return np.split(np.asarray(result), bounds)
