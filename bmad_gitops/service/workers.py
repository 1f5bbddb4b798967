"""Connector work in worker processes, never in the event loop: a fixed number of slots, each its own
single-process pool, so a connector that hangs or crashes is killed and replaced without touching the others.

Processes start with 'spawn' (no inherited threads or locks from the server) and stay warm between requests, so
`import airbyte` is paid once per slot, not per call.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..errors import ConnectorError


class WorkerTimeout(ConnectorError):
    pass


class WorkerCrashed(ConnectorError):
    pass


class WorkersBusy(ConnectorError):
    pass


def _new_executor() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def _kill(executor: ProcessPoolExecutor) -> None:
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        process.kill()
    executor.shutdown(wait=False, cancel_futures=True)


class WorkerSlots:
    def __init__(self, size: int, timeout_s: float) -> None:
        self.size = size
        self.timeout_s = timeout_s
        self._free: asyncio.Queue[ProcessPoolExecutor] | None = None
        self._all: list[ProcessPoolExecutor] = []

    def _queue(self) -> asyncio.Queue[ProcessPoolExecutor]:
        if self._free is None:  # made on first use, inside the server's event loop
            self._free = asyncio.Queue()
            for _ in range(self.size):
                executor = _new_executor()
                self._all.append(executor)
                self._free.put_nowait(executor)
        return self._free

    async def run(self, fn: Callable[..., Any], *args: Any, timeout_s: float | None = None) -> Any:
        timeout = timeout_s or self.timeout_s
        free = self._queue()
        try:
            executor = await asyncio.wait_for(free.get(), timeout)
        except TimeoutError:
            raise WorkersBusy("every connector worker is busy", "retry in a moment") from None
        try:
            future = asyncio.get_running_loop().run_in_executor(executor, fn, *args)
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            executor = self._replace(executor)
            raise WorkerTimeout(f"the connector did not answer within {timeout:g} s", "retry, or raise the service timeout") from None
        except BrokenProcessPool:
            executor = self._replace(executor)
            raise WorkerCrashed("the connector's worker process died", "see the server log; the request can be retried") from None
        finally:
            free.put_nowait(executor)

    def _replace(self, executor: ProcessPoolExecutor) -> ProcessPoolExecutor:
        _kill(executor)
        fresh = _new_executor()
        self._all = [fresh if e is executor else e for e in self._all]
        return fresh

    def shutdown(self) -> None:
        for executor in self._all:
            _kill(executor)
        self._all = []
        self._free = None
