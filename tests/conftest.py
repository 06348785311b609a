"""Test fixtures over real servers.

The MongoDB-protocol server and Redis start once per test session (the embedded default, or the
servers named by CITYGATE_MONGODB_URL / CITYGATE_REDIS_URL). Each test gets its own database, a
flushed Redis, and the real app listening on a real port; `fetch` talks to it over HTTP.
"""

from __future__ import annotations

import dataclasses
import json as jsonlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import tornado.httpserver
import tornado.testing
from bson import ObjectId
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from config.settings import Settings
from models import operators, tokens
from server.app import make_app, make_http_server
from server.context import AppContext
from server.embedded import EmbeddedMongo, EmbeddedRedis
from server.lifecycle import ensure_indexes, event_loop_factory, load_demo_data
from tests.clock_support import TODAYS, FakeClock, cst

pytest_plugins = ["tests.datastore_shapes", "tests.browser_support"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**overrides): Settings fields for this test's app")
    config.addinivalue_line("markers", "clock(*shanghai_fields): start the test clock stopped at that instant")
    config.addinivalue_line("markers", "todays(*kinds): run once per kind of today (all of tests.clock_support.TODAYS)")


def pytest_report_header(config: pytest.Config) -> str:
    return "todays: " + ", ".join(f"{kind}={instant.isoformat()}" for kind, instant in TODAYS.items())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.todays`: the test runs once per kind of today, its clock starting there."""
    marker = metafunc.definition.get_closest_marker("todays")
    if marker is None:
        return
    if "clock" not in metafunc.fixturenames:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: @pytest.mark.todays needs the clock (or app) fixture")
    kinds = list(marker.args) or list(TODAYS)
    unknown = set(kinds) - set(TODAYS)
    if unknown:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: unknown todays {sorted(unknown)}")
    metafunc.parametrize("clock", kinds, indirect=True, ids=[f"today={kind}" for kind in kinds])


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FakeClock:
    """The test's clock, installed as the app's `ctx.clock` (tests/clock_support.py).

    Under `@pytest.mark.todays` it starts at that run's today and runs; with `@pytest.mark.clock(2025,
    9, 22, 10, 0)` it starts stopped at that Shanghai time; otherwise it runs with real time.
    """
    kind = getattr(request, "param", None)
    if kind is not None:
        request.node.user_properties.append(("today", TODAYS[kind].isoformat()))
        return FakeClock(TODAYS[kind])
    marker = request.node.get_closest_marker("clock")
    if marker is not None:
        return FakeClock().set(cst(*marker.args))
    return FakeClock()


# Every async test runs on the loop `python -m server` runs on (uvloop unless CITYGATE_EVENT_LOOP
# says otherwise): the code under test runs on what production runs on.
EVENT_LOOP = Settings.from_env(env_file=None).event_loop


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], Any]]:
    return {EVENT_LOOP: event_loop_factory(EVENT_LOOP)}


@pytest.fixture(scope="session")
def backing_urls(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(mongodb_url, redis_url): configured servers, or embedded ones started for this session."""
    data_dir = tmp_path_factory.mktemp("backing")
    started = []
    mongodb_url = os.environ.get("CITYGATE_MONGODB_URL", "")
    redis_url = os.environ.get("CITYGATE_REDIS_URL", "")
    if not mongodb_url:
        started.append(EmbeddedMongo(data_dir).start())
        mongodb_url = started[-1].url
    if not redis_url:
        started.append(EmbeddedRedis(data_dir).start())
        redis_url = started[-1].url
    yield mongodb_url, redis_url
    for server in reversed(started):
        server.stop()


@dataclasses.dataclass
class Response:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclasses.dataclass
class RunningApp:
    ctx: AppContext
    app: Any
    port: int
    base_url: str
    http: AsyncHTTPClient

    async def fetch(self, method: str, path: str, json: Any = None, token: str | None = None,
                    headers: dict[str, str] | None = None, body: bytes | str | None = None,
                    timeout: float = 30) -> Response:
        all_headers = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False)
            all_headers.setdefault("Content-Type", "application/json")
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        request = HTTPRequest(self.base_url + path, method=method, headers=all_headers, body=body,
                              request_timeout=timeout, allow_nonstandard_methods=True)
        response = await self.http.fetch(request, raise_error=False)
        return Response(response.code, response.headers, response.body or b"")


async def start_app(settings: Settings, mongodb_url: str, redis_url: str, demo: bool = False, *,
                    clock: FakeClock) -> RunningApp:
    """One app (a worker) on `clock`: workers of one test share the test's clock, as machines share real time."""
    sock, port = tornado.testing.bind_unused_port()
    settings = settings.replace(port=port)
    ctx = AppContext.connect(settings, mongodb_url, redis_url, db_name=settings.mongodb_db)
    ctx.clock = clock
    await ctx.caches.start()  # as `python -m server` does: a second app here is another worker
    await ensure_indexes(ctx)
    if demo:
        await load_demo_data(ctx)
    app = make_app(ctx, check_answers=True)
    server = make_http_server(app, settings)
    server.add_sockets([sock])
    app.settings["http_server"] = server
    return RunningApp(ctx, app, port, f"http://127.0.0.1:{port}", AsyncHTTPClient(force_instance=True))


async def stop_app(running: RunningApp, drop: bool = True) -> None:
    server = running.app.settings["http_server"]
    server.stop()
    await server.close_all_connections()
    running.http.close()
    if drop:
        await running.ctx.mongo.drop_database(running.ctx.settings.mongodb_db)
    await running.ctx.close()


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    """Development settings for one test, with `@pytest.mark.settings(...)` overrides applied."""
    overrides: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("settings"))):
        overrides.update(marker.kwargs)
    base = Settings(mongodb_db=f"t_{uuid.uuid4().hex[:12]}", data_dir=str(tmp_path), background_workers=False)
    return base.replace(**overrides)


@pytest.fixture
async def app(settings: Settings, backing_urls: Any, clock: FakeClock,
              request: pytest.FixtureRequest) -> AsyncIterator[RunningApp]:
    """The real app on a real port, over a fresh database and a flushed Redis (no demo data), on `clock`."""
    mongodb_url, redis_url = backing_urls
    demo = "demo_app" in request.fixturenames
    running = await start_app(settings, mongodb_url, redis_url, demo=demo, clock=clock)
    await running.ctx.redis.flushdb()
    try:
        yield running
    finally:
        await stop_app(running)
    # Every answer the test received fits the type its route declares (handlers.contract).
    violations = running.app.settings["answer_violations"]
    assert not violations, "answers that do not fit their declared type:\n" + "\n".join(violations)


@pytest.fixture
async def demo_app(app: RunningApp) -> RunningApp:
    """The app with the demo data loaded (catalogue, channels, admin), as `make run` has it."""
    return app


@pytest.fixture
def fetch(app: RunningApp) -> Callable[..., Awaitable[Response]]:
    """fetch(method, path, json=..., token=..., headers=...) against the running app."""
    return app.fetch


@pytest.fixture
def ctx(app: RunningApp) -> AppContext:
    return app.ctx


@pytest.fixture
async def operator_token(app: RunningApp) -> str:
    """A logged-in admin operator's bearer token."""
    await operators.upsert_operator(app.ctx.db, "test-admin", "test-password-1", ["platform_admin"])
    result = await operators.login(app.ctx, "test-admin", "test-password-1")
    return result["access_token"]


@pytest.fixture
def make_operator(app: RunningApp) -> Callable[..., Awaitable[str]]:
    """make_operator(username, roles, department, region_code) -> bearer token of a new operator."""
    async def create(username: str, roles: list[str], department: str = "", region_code: str = "") -> str:
        await operators.upsert_operator(app.ctx.db, username, "pw-" + username, roles, department=department,
                                        region_code=region_code)
        return (await operators.login(app.ctx, username, "pw-" + username))["access_token"]
    return create


@pytest.fixture
def make_citizen(app: RunningApp) -> Callable[..., Awaitable[tuple[str, str]]]:
    """make_citizen(**profile) -> (citizen_id, access_token), without going through a channel.

    For tests of features that only need *a* logged-in citizen; the identity tests log in through
    the sandbox channels instead. `channel=` sets where notifications go, in the shape logins
    record: {"kind": "wechat", "app_id": "wxdemo0000000001", "openid": "o-..."} or
    {"kind": "alipay", "app_id": "2021000000000001", "user_id": "2088..."}.
    """
    async def create(**profile: Any) -> tuple[str, str]:
        citizen_id = ObjectId()
        last_channel = profile.pop("channel", None)
        await app.ctx.db.citizens.insert_one({
            "_id": citizen_id, "profile": profile, "identities": {}, "identity_keys": [],
            "phone": None, "realname": None, "status": "active",
            "created_at": app.ctx.clock(), "last_channel": last_channel,
        })
        principal = tokens.Principal("citizen", str(citizen_id))
        token = await tokens.issue_access_token(app.ctx.redis, principal, 3600)
        return str(citizen_id), token
    return create


@pytest.fixture
async def citizen(make_citizen: Callable[..., Awaitable[tuple[str, str]]]) -> tuple[str, str]:
    """(citizen_id, access_token) of one logged-in citizen."""
    return await make_citizen(name="测试市民")
