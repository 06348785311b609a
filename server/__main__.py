"""`python -m server [--workers N]`: start the embedded backing servers if needed, then serve."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import tornado.httpserver
import tornado.netutil
import tornado.web

from config.settings import Settings, SettingsError
from server.app import make_app, make_http_server
from server.context import AppContext
from server.lifecycle import (
    ensure_indexes,
    event_loop_factory,
    load_demo_data,
    start_backing_servers,
    stop_backing_servers,
)
from server.metrics import mark_worker_dead, metrics_dir, start_multiprocess
from server.workers import BackgroundWorkers

log = logging.getLogger("citygate.server")
T = TypeVar("T")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line; access-log records are JSON already and pass through."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.name == "citygate.access":
            return message
        entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name, "message": message}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLogFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("tornado.access").setLevel(logging.WARNING)  # our own access log replaces it


async def prepare_datastore(settings: Settings, mongodb_url: str, redis_url: str) -> None:
    ctx = AppContext.connect(settings, mongodb_url, redis_url)
    try:
        await ensure_indexes(ctx)
        if settings.demo_data:
            await load_demo_data(ctx)
    finally:
        await ctx.close()


async def serve(settings: Settings, sockets: list[socket.socket], mongodb_url: str, redis_url: str,
                announce: bool) -> None:
    """Serve on already-bound sockets until SIGTERM/SIGINT, then shut down gracefully."""
    ctx = AppContext.connect(settings, mongodb_url, redis_url)
    await ctx.caches.start()  # this process's local caches, invalidated by the other workers' changes
    app = make_app(ctx)
    server = make_http_server(app, settings)
    server.add_sockets(sockets)
    workers = BackgroundWorkers(ctx)
    if settings.background_workers:
        workers.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    if _stop_requested_early:  # SIGTERM arrived while this worker was still starting
        stopping.set()
    if announce:
        base = f"http://{settings.host}:{settings.port}"
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        print(f"CityGate is serving on {base} (event loop: {loop})\n  API docs   {base}/docs\n  OpenAPI    {base}/openapi.json\n"
              f"  health     {base}/healthz  ready {base}/readyz  metrics {base}/metrics", flush=True)
    await stopping.wait()
    await graceful_shutdown(server, app, settings.shutdown_timeout_seconds)
    await workers.stop()
    await ctx.close()


async def graceful_shutdown(server: tornado.httpserver.HTTPServer, app: tornado.web.Application,
                            timeout: float) -> int:
    """Stop accepting, let requests in flight finish (up to `timeout`), then close connections.

    Returns how many requests were still running at the deadline.
    """
    log.info("shutting down: no new connections, finishing requests in flight")
    server.stop()
    deadline = time.monotonic() + timeout
    in_flight = app.settings["in_flight"]
    while in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    left = len(in_flight)
    if left:
        log.warning("%d requests still running at the shutdown deadline; closing them", left)
    await server.close_all_connections()
    return left


def run(coroutine: Coroutine[Any, Any, T], settings: Settings) -> T:
    """`asyncio.run` on the event loop the settings ask for."""
    with asyncio.Runner(loop_factory=event_loop_factory(settings.event_loop)) as runner:
        return runner.run(coroutine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description="Run the CityGate API.")
    parser.add_argument("--workers", type=int, default=None, help="processes sharing the port (default 1)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.workers is not None:
        if args.workers < 1:
            print("--workers must be at least 1", file=sys.stderr)
            return 2
        settings = settings.replace(workers=args.workers)
    configure_logging(settings.log_level)
    mongodb_url, redis_url, embedded = start_backing_servers(settings)
    try:
        run(prepare_datastore(settings, mongodb_url, redis_url), settings)
        sockets = tornado.netutil.bind_sockets(settings.port, settings.host)
        if settings.port == 0:
            settings = settings.replace(port=sockets[0].getsockname()[1])
        if settings.workers == 1:
            # One process counts in memory: its /metrics is complete without the shared files, whose
            # writes cost every request about three times what counting in memory does.
            run(serve(settings, sockets, mongodb_url, redis_url, announce=True), settings)
            return 0
        start_multiprocess(metrics_dir(settings))  # before the fork: every worker counts where /metrics reads
        return run_workers(settings, sockets, mongodb_url, redis_url)
    finally:
        stop_backing_servers(embedded)


_stop_requested_early = False


def _note_early_stop(signum: int, _frame: object) -> None:
    global _stop_requested_early
    _stop_requested_early = True


def run_workers(settings: Settings, sockets: list[socket.socket], mongodb_url: str, redis_url: str) -> int:
    """Pre-fork N processes on one listening socket, replace any that dies, and stop them on SIGTERM/SIGINT.

    A worker that dies (killed, out of memory, a crash) is replaced at once, so the port keeps N
    processes. What it was doing is safe to redo: background work is claimed with leases and applied
    with conditional updates. Restarts are bounded: a worker that keeps dying within seconds of its
    start (a bad configuration, a broken dependency) stops the whole server instead of looping.
    """
    children: dict[int, tuple[int, float]] = {}  # pid -> (worker number, started at)
    stopping = False

    def start_worker(number: int) -> None:
        pid = os.fork()
        if pid == 0:
            # Until serve() installs its handlers, a SIGTERM must not kill a starting worker outright.
            signal.signal(signal.SIGTERM, _note_early_stop)
            signal.signal(signal.SIGINT, _note_early_stop)
            run(serve(settings, sockets, mongodb_url, redis_url, announce=number == 0 and not restarts), settings)
            os._exit(0)
        children[pid] = (number, time.monotonic())

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    restarts: list[float] = []
    for number in range(settings.workers):
        start_worker(number)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except InterruptedError:
            continue
        except ChildProcessError:
            break
        if pid not in children:  # not a worker (cannot happen today; the embedded servers are Popen's)
            continue
        number, started = children.pop(pid)
        mark_worker_dead(pid)
        exit_code = os.waitstatus_to_exitcode(code)
        if stopping:
            status = status or exit_code
            continue
        now = time.monotonic()
        restarts[:] = [at for at in restarts if now - at < WORKER_RESTART_WINDOW_SECONDS] + [now]
        if len(restarts) > WORKER_RESTARTS_PER_WINDOW:
            log.error("worker %d (pid %d) exited with %d; %d restarts within %ds: stopping the server",
                      number, pid, exit_code, len(restarts) - 1, WORKER_RESTART_WINDOW_SECONDS)
            forward(signal.SIGTERM, None)
            status = exit_code or 1
            continue
        log.warning("worker %d (pid %d) exited with %d after %.0fs; starting a replacement",
                    number, pid, exit_code, now - started)
        start_worker(number)
    return status


# A worker dying this often (per window, across all workers) is not an accident to ride out.
WORKER_RESTARTS_PER_WINDOW = 5
WORKER_RESTART_WINDOW_SECONDS = 60


if __name__ == "__main__":
    sys.exit(main())
