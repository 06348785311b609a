"""Background workers: periodic tasks run in every server process.

Every task must be safe when several processes run it at once (claim work with conditional
updates), because `--workers N` runs N copies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from server.context import AppContext
from server.registry import PERIODIC_TASKS, load_task

log = logging.getLogger("citygate.workers")

Task = Callable[[AppContext], Awaitable[object]]


def periodic_tasks() -> list[tuple[str, float, Task]]:
    """Every task server/registry.py lists, as (name, interval seconds, function)."""
    return [(name, interval, load_task(target)) for name, interval, target in PERIODIC_TASKS]


class BackgroundWorkers:
    """Runs each periodic task in its own loop until `stop()`."""

    def __init__(self, ctx: AppContext, tasks: list[tuple[str, float, Task]] | None = None) -> None:
        self.ctx = ctx
        self.tasks = periodic_tasks() if tasks is None else tasks
        self._running: list[asyncio.Task] = []
        self._stopping = asyncio.Event()

    def start(self) -> None:
        for name, interval, task in self.tasks:
            self._running.append(asyncio.create_task(self._loop(name, interval, task), name=f"worker:{name}"))

    async def _loop(self, name: str, interval: float, task: Task) -> None:
        while not self._stopping.is_set():
            try:
                await task(self.ctx)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failing task must not stop the others
                log.exception("background task %s failed; retrying in %.0fs", name, interval)
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)
            except TimeoutError:
                pass

    async def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._running:
            done, pending = await asyncio.wait(self._running, timeout=timeout)
            for task in pending:
                task.cancel()
        self._running.clear()
