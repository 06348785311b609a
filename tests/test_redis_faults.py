"""Redis stops mid-run, and comes back; rate limits shared by every worker (issue 20).

What needs Redis (sessions, logins, anything behind a bearer token) answers 503
`temporarily_unavailable` with Retry-After and writes nothing; what can do without it degrades: the
catalogue, a guide, search and public progress (read from the datastore, its limits counted per
worker meanwhile); a payment callback still applies and tells the citizen. When Redis is back the
same clients reconnect on their own and every session still works.
"""

from __future__ import annotations

from typing import Any

import pytest

from models import applications
from models.applications import caches
from models.tokens import Principal, issue_access_token
from server.embedded import EmbeddedRedis
from tests.conftest import start_app, stop_app
from tests.identity_support import WECHAT_APP, wechat_code, with_demo_channels
from tests.test_applications import item, service_item, submit  # noqa: F401 - fixture
from tests.test_localcache import eventually


@pytest.fixture
async def outage(settings, backing_urls, clock, tmp_path) -> Any:  # noqa: ANN001
    """(app, redis): an app on a Redis of its own, which the test may stop and start again."""
    redis = EmbeddedRedis(tmp_path / "own-redis", persist=True).start()  # persisted, as production's is
    running = await start_app(settings, backing_urls[0], redis.url, clock=clock)
    await with_demo_channels(running)
    try:
        yield running, redis
    finally:
        redis.stop()
        await stop_app(running)


def _unavailable(response: Any) -> None:
    assert response.status == 503, response.text
    assert response.json()["code"] == "temporarily_unavailable"
    assert response.headers["Retry-After"] == "5"


async def test_reads_degrade_writes_wait_and_service_resumes_when_redis_is_back(outage, make_citizen) -> None:  # noqa: ANN001
    running, redis = outage
    fetch, db = running.fetch, running.ctx.db
    document = service_item()
    await db.services.replace_one({"code": document["code"]}, dict(document), upsert=True)
    citizen_id = "c-outage"
    token = await issue_access_token(running.ctx.redis, Principal("citizen", citizen_id), 3600)
    await db.citizens.insert_one({"_id": citizen_id, "profile": {}, "identities": {}, "identity_keys": [],
                                  "status": "active", "created_at": running.ctx.clock()})
    created = await submit(fetch, token)
    assert created.status == 201, created.text
    no, query_code = created.json()["application_no"], created.json()["query_code"]
    code = await wechat_code(fetch, "o-outage-1")  # before the outage: the sandbox's own state
    citizens_before = await db.citizens.count_documents({})

    redis.stop()
    # Reads that do without Redis: the catalogue, a guide, search, public progress.
    for path in ("/api/v1/services", "/api/v1/services/GA-0001", "/api/v1/services?q=办护照",
                 f"/api/v1/progress?application_no={no}&query_code={query_code}"):
        response = await fetch("GET", path)
        assert response.status == 200, (path, response.text)
    # Anything behind a session needs Redis: 503, not 401 (the token is not wrong) and not 500.
    _unavailable(await fetch("GET", "/api/v1/applications", token=token))
    _unavailable(await fetch("GET", f"/api/v1/applications/{no}", token=token))
    applications_before = await db.applications.count_documents({})
    _unavailable(await fetch("POST", "/api/v1/applications", token=token,
                             json={"service_code": "GA-0001", "form": {}, "draft": True}))
    _unavailable(await fetch("POST", "/api/v1/appointments", token=token, json={}))
    assert await db.applications.count_documents({}) == applications_before
    # A login needs Redis for its session: refused before the channel is asked, so nothing is written
    # and the code is not spent.
    _unavailable(await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": WECHAT_APP}))
    _unavailable(await fetch("POST", "/admin/v1/auth/login", json={"username": "x", "password": "y"},
                             headers={"Accept-Language": "en"}))
    assert await db.citizens.count_documents({}) == citizens_before
    assert await db.refresh_families.count_documents({}) == 0

    redis.start(redis.port)  # back, with its data, where it was: the clients reconnect on their own
    await eventually(lambda: _serves(fetch, "/api/v1/applications", token), within=15)
    assert (await fetch("GET", f"/api/v1/applications/{no}", token=token)).status == 200
    login = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": WECHAT_APP})
    assert login.status == 200, login.text  # the same code: the refused attempt spent nothing
    assert (await fetch("GET", "/api/v1/me", token=login.json()["access_token"])).status == 200
    assert await db.refresh_families.count_documents({}) == 1
    await eventually(lambda: running.ctx.caches.listening, within=15)  # invalidations heard again


async def _serves(fetch, path: str, token: str) -> bool:  # noqa: ANN001
    return (await fetch("GET", path, token=token)).status == 200


async def test_a_change_made_while_redis_is_away_drops_the_stale_copy_once_it_is_back(outage) -> None:  # noqa: ANN001
    """`forget` (a payment callback's, a refund's) must not fail the change it follows; the Redis copy
    that outlived the outage is dropped as soon as Redis answers again."""
    running, redis = outage
    ctx = running.ctx
    no = "330100-20261129-000001"
    await ctx.redis.set(caches._cache_key(no), '1|{"application": {}, "events": []}')
    redis.stop()
    await applications.forget(ctx, no)  # no exception: the caller goes on to its outbox record
    assert await caches.retry_pending_forgets(ctx) == 1  # still away: kept
    redis.start(redis.port)
    await eventually(lambda: _retried(ctx), within=15)
    assert await ctx.redis.get(caches._cache_key(no)) is None
    assert await ctx.redis.get(caches._generation_key(no)) == "1"  # fills read before it are refused


async def _retried(ctx: Any) -> bool:
    await applications.renew_read_models(ctx)  # the periodic task that retries them
    return not ctx.extras.get(caches.PENDING_FORGETS)


async def test_rate_limits_hold_across_workers_sharing_redis(app, settings, backing_urls, clock) -> None:  # noqa: ANN001
    """Two app instances (workers, or machines) on one Redis share each limit: 10 operator logins a
    minute per address, counted together, not 10 on each."""
    other = await start_app(settings, *backing_urls, clock=clock)
    try:
        statuses = []
        for attempt in range(12):
            worker = (app, other)[attempt % 2]
            response = await worker.fetch("POST", "/admin/v1/auth/login",
                                          json={"username": f"nobody{attempt}", "password": "x"})  # no lockout
            statuses.append(response.status)
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429, 429]  # the 11th, on either worker
    finally:
        await stop_app(other, drop=False)
