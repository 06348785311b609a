"""Readiness when a backing server fails, graceful shutdown, and several worker processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import tornado.httpserver
import tornado.testing
import tornado.web

from config.settings import Settings
from handlers.base import BaseHandler
from server.__main__ import graceful_shutdown
from server.app import make_app
from server.context import AppContext
from server.embedded import EmbeddedRedis, free_port
from tests.conftest import start_app, stop_app

ROOT = Path(__file__).resolve().parents[1]


async def test_readiness_fails_and_names_redis_when_redis_stops(settings, backing_urls, clock, tmp_path) -> None:
    redis = EmbeddedRedis(tmp_path / "redis").start()
    running = await start_app(settings, backing_urls[0], redis.url, clock=clock)
    try:
        assert (await running.fetch("GET", "/readyz")).status == 200
        redis.stop()
        response = await running.fetch("GET", "/readyz")
        assert response.status == 503
        body = response.json()
        assert body["failed"] == ["redis"]
        assert body["checks"]["mongodb"] == "ok"
        assert response.headers["Retry-After"] == "5"
        assert (await running.fetch("GET", "/healthz")).status == 200  # alive, just not ready
    finally:
        redis.stop()
        await stop_app(running)


async def test_readiness_names_mongodb_when_it_is_unreachable(settings, backing_urls, clock) -> None:
    dead_port = free_port()
    running = await start_app(settings, backing_urls[0], backing_urls[1], clock=clock)
    dead_mongo = AppContext.connect(settings, f"mongodb://127.0.0.1:{dead_port}/?serverSelectionTimeoutMS=500",
                                    backing_urls[1])
    original = running.ctx.mongo
    running.ctx.mongo = dead_mongo.mongo
    try:
        response = await running.fetch("GET", "/readyz")
        assert response.status == 503
        assert response.json()["failed"] == ["mongodb"]
    finally:
        running.ctx.mongo = original
        await dead_mongo.close()
        await stop_app(running)


class SlowHandler(BaseHandler):
    """Test-only: answers after a pause, to be caught in flight by a shutdown."""

    async def get(self) -> None:
        await asyncio.sleep(float(self.get_query_argument("seconds")))
        self.write_json({"finished": True})


def serve_with_slow_route(settings, backing_urls):  # noqa: ANN001, ANN201
    """(ctx, app, server, port, client): the real app plus a /slow route, listening on a free port."""
    ctx = AppContext.connect(settings, *backing_urls, db_name=settings.mongodb_db)
    app = make_app(ctx)
    app.wildcard_router.add_rules([(r"/slow", SlowHandler, {"route": "/slow"})])
    sock, port = tornado.testing.bind_unused_port()
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets([sock])
    return ctx, app, server, port, tornado.httpclient.AsyncHTTPClient(force_instance=True)


async def test_graceful_shutdown_finishes_requests_in_flight_and_refuses_new_ones(settings, backing_urls) -> None:
    ctx, app, server, port, client = serve_with_slow_route(settings, backing_urls)
    try:
        in_flight = asyncio.ensure_future(client.fetch(f"http://127.0.0.1:{port}/slow?seconds=0.5", raise_error=False))
        await asyncio.sleep(0.2)
        left = await graceful_shutdown(server, app, timeout=5)
        assert left == 0
        response = await in_flight
        assert response.code == 200 and json.loads(response.body) == {"finished": True}
        with pytest.raises(ConnectionRefusedError):  # the listening socket is closed
            await client.fetch(f"http://127.0.0.1:{port}/healthz", raise_error=False)
    finally:
        client.close()
        await ctx.close()


async def test_shutdown_deadline_bounds_a_stuck_request(settings, backing_urls) -> None:
    ctx, app, server, port, client = serve_with_slow_route(settings, backing_urls)
    try:
        stuck = asyncio.ensure_future(client.fetch(f"http://127.0.0.1:{port}/slow?seconds=30", raise_error=False))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        left = await graceful_shutdown(server, app, timeout=0.3)
        assert left == 1
        assert time.monotonic() - started < 5
        outcome = await asyncio.gather(stuck, return_exceptions=True)
        assert isinstance(outcome[0], Exception) or outcome[0].code == 599  # cut off, not answered
    finally:
        client.close()
        await ctx.close()


def _get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, json.loads(response.read())


def _wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{process.stdout.read() if process.stdout else ''}")
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not start in time")


async def test_tests_run_on_the_event_loop_the_server_runs_on() -> None:
    wanted = Settings.from_env(env_file=None).event_loop  # uvloop unless CITYGATE_EVENT_LOOP says otherwise
    assert type(asyncio.get_running_loop()).__module__.split(".")[0] == wanted


@pytest.mark.parametrize(("workers", "loop"), [(1, None), (2, None), (1, "asyncio")])
def test_server_process_serves_and_stops_cleanly_on_sigterm(tmp_path, workers: int, loop: str | None) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGATE_")}
    env.update({"CITYGATE_PORT": str(port), "CITYGATE_DATA_DIR": str(tmp_path), "CITYGATE_DEMO_DATA": "false"})
    if loop:
        env["CITYGATE_EVENT_LOOP"] = loop
    process = subprocess.Popen([sys.executable, "-m", "server", "--workers", str(workers)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}/healthz", process)
        for _ in range(10):
            assert _get(f"http://127.0.0.1:{port}/readyz")[0] == 200
        children = _child_pids(process.pid)
        assert len([c for c in children if "-m server" in c[1]]) == (workers if workers > 1 else 0)
        assert {"nx-27017", "redis-server"} <= {word for _, cmd in children for word in ("nx-27017", "redis-server") if word in cmd}
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "shutting down" in output
        assert f"(event loop: {loop or 'uvloop'})" in output  # uvloop unless told otherwise
        # the embedded datastore and Redis went with it
        assert all(not Path(f"/proc/{pid}").exists() for pid, _ in children)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _child_pids(parent: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append((int(entry.name), cmdline))
    return found


def test_a_worker_that_dies_is_replaced_and_the_port_keeps_serving(tmp_path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGATE_")}
    env.update({"CITYGATE_PORT": str(port), "CITYGATE_DATA_DIR": str(tmp_path), "CITYGATE_DEMO_DATA": "false"})
    process = subprocess.Popen([sys.executable, "-m", "server", "--workers", "2"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}/healthz", process)
        workers = {pid for pid, cmd in _child_pids(process.pid) if "-m server" in cmd}
        assert len(workers) == 2
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)  # as the kernel's OOM killer would
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = {pid for pid, cmd in _child_pids(process.pid) if "-m server" in cmd}
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.2)
        assert len(now) == 2 and victim not in now, now
        replacement = (now - workers).pop()
        # The replacement serves: every answer of a run of requests is good, whichever worker takes it.
        _wait_until_serving(f"http://127.0.0.1:{port}/readyz", process)
        for _ in range(20):
            assert _get(f"http://127.0.0.1:{port}/readyz")[0] == 200
        assert Path(f"/proc/{replacement}").exists()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert f"pid {victim}) exited with -9" in output and "starting a replacement" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
