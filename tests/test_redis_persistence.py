"""`make run`'s embedded Redis keeps its data under var/redis (an append-only file): a restart of the
service logs nobody out. The tests' own Redis stays ephemeral (tests/conftest.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from config.settings import Settings
from models import tokens
from server.embedded import free_port
from server.lifecycle import start_backing_servers, stop_backing_servers
from server.redisclient import open_redis
from tests.test_lifecycle import _get, _wait_until_serving

ROOT = Path(__file__).resolve().parents[1]


async def _issue(redis_url: str) -> str:
    redis = open_redis(redis_url)
    try:
        return await tokens.issue_access_token(redis, tokens.Principal("citizen", "c-1"), 3600)
    finally:
        await redis.aclose()


async def _holder(redis_url: str, token: str) -> str | None:
    redis = open_redis(redis_url)
    try:
        raw = await redis.get(tokens.ACCESS_PREFIX + tokens.token_digest(token))
        return None if raw is None else tokens.Principal.from_json(raw).subject_id
    finally:
        await redis.aclose()


async def test_the_launchers_redis_keeps_a_token_across_a_restart(backing_urls, tmp_path) -> None:  # noqa: ANN001
    settings = Settings(mongodb_url=backing_urls[0], data_dir=str(tmp_path))  # only Redis is started here
    _, redis_url, started = start_backing_servers(settings)
    try:
        token = await _issue(redis_url)
    finally:
        stop_backing_servers(started)  # SIGTERM: Redis writes the rest of its append-only file
    assert any((tmp_path / "redis").rglob("*.aof"))
    _, second_url, started = start_backing_servers(settings)
    try:
        assert second_url != redis_url  # another process on another free port...
        assert await _holder(second_url, token) == "c-1"  # ...with the same sessions
    finally:
        stop_backing_servers(started)


def _post_json(url: str, body: bytes) -> dict:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def _me(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _serve(tmp_path: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGATE_")}
    env.update({"CITYGATE_PORT": str(port), "CITYGATE_DATA_DIR": str(tmp_path), "CITYGATE_LOG_LEVEL": "WARNING"})
    process = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    _wait_until_serving(f"http://127.0.0.1:{port}/healthz", process)
    return process


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def test_a_restart_of_the_service_keeps_the_operators_session(tmp_path) -> None:  # noqa: ANN001
    """As `make run` does it: the demo admin logs in, the service restarts, the same token still works."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = _serve(tmp_path, port)
    try:
        assert _get(base + "/readyz")[0] == 200
        login = _post_json(base + "/admin/v1/auth/login", b'{"username": "admin", "password": "admin-change-me"}')
        token = login["access_token"]
        assert _me(base + "/admin/v1/me", token) == 200
    finally:
        _stop(process)
    process = _serve(tmp_path, port)
    try:
        assert _me(base + "/admin/v1/me", token) == 200
        assert _me(base + "/admin/v1/me", "at_" + "x" * 43) == 401  # and an unknown token is still refused
    finally:
        _stop(process)
