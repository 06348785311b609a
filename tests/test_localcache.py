"""Process-local caches: bounds, TTL, the fill guard, and invalidation across worker processes.

A second app started on the same MongoDB and Redis stands for another `--workers` process: it has
its own caches and its own subscriber, and hears the first one's changes only through Redis.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio.cluster import RedisCluster

from models import applications, localcache, tokens
from models.applications import caches
from models.localcache import LocalCache
from server.context import AppContext
from server.embedded import EmbeddedRedis
from tests.conftest import RunningApp, start_app, stop_app
from tests.test_applications import act, service_item, submit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def eventually(check: Callable[[], Awaitable[bool] | bool], within: float) -> float:
    """Poll `check` until it holds; return how long that took, or fail after `within` seconds."""
    began = time.monotonic()
    while True:
        outcome = check()
        if isinstance(outcome, Awaitable):
            outcome = await outcome
        if outcome:
            return time.monotonic() - began
        if time.monotonic() - began > within:
            raise AssertionError(f"not within {within}s")
        await asyncio.sleep(0.01)


# ---- one cache -------------------------------------------------------------------------------------
def test_entries_expire_after_the_ttl() -> None:
    clock = FakeClock()
    cache = LocalCache("t", max_entries=10, ttl_seconds=0.5, clock=clock)
    assert cache.put("a", "A", cache.epoch)
    clock.now += 0.49
    assert cache.get("a") == "A"
    clock.now += 0.02
    assert cache.get("a") is None
    assert cache.last_known("a") == "A"  # kept to be revalidated, never served as it is


def test_size_is_bounded_and_the_least_recently_used_goes_first() -> None:
    cache = LocalCache("t", max_entries=3, ttl_seconds=60)
    for key in "abc":
        cache.put(key, key.upper(), cache.epoch)
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.put("d", "D", cache.epoch)
    assert len(cache) == 3
    assert cache.get("b") is None
    assert [cache.get(k) for k in "acd"] == ["A", "C", "D"]


def test_a_value_read_before_an_eviction_is_not_stored_after_it() -> None:
    cache = LocalCache("t", max_entries=10, ttl_seconds=60)
    epoch = cache.epoch  # a reader starts fetching "a"
    cache.evict(["a"])  # meanwhile "a" changes (here or in another process)
    assert not cache.put("a", "old A", epoch)
    assert cache.get("a") is None
    assert cache.put("a", "new A", cache.epoch)
    epoch = cache.epoch
    cache.clear()
    assert not cache.put("b", "B", epoch)


def test_what_an_invalidation_touched_is_not_last_known() -> None:
    clock = FakeClock()
    cache = LocalCache("t", max_entries=10, ttl_seconds=0.5, clock=clock)
    for key in ("a", "b", "c"):
        cache.put(key, key.upper(), cache.epoch)
    clock.now += 1
    cache.evict(["a"])
    assert (cache.last_known("a"), cache.last_known("b")) == (None, "B")
    cache.serving = False
    assert cache.last_known("b") is None
    cache.serving = True
    cache.clear()
    assert cache.last_known("c") is None


def test_renewable_are_the_entries_read_since_stored_that_end_soon() -> None:
    clock = FakeClock()
    cache = LocalCache("t", max_entries=10, ttl_seconds=10, clock=clock)
    for key in ("read", "unread", "later"):
        clock.now += 1
        cache.put(key, key.upper(), cache.epoch)
    cache.get("read"), cache.get("later")
    clock.now += 5  # "read" ends in 3 s, "later" in 5 s
    assert cache.renewable(within=4) == [("read", "READ")]
    assert sorted(cache.renewable(within=6)) == [("later", "LATER"), ("read", "READ")]
    clock.now += 20
    assert sorted(cache.renewable(within=0)) == [("later", "LATER"), ("read", "READ")]  # ended, not yet renewed
    assert cache.put("read", "READ", cache.epoch)
    assert cache.renewable(within=60) == [("later", "LATER")]  # stored again: unread since
    cache.serving = False
    assert cache.renewable(within=60) == []


def test_nothing_is_served_or_stored_while_not_serving_and_none_is_never_stored() -> None:
    cache = LocalCache("t", max_entries=10, ttl_seconds=60)
    assert not cache.put("gone", None, cache.epoch)  # no negative entries
    cache.put("a", "A", cache.epoch)
    cache.serving = False
    assert cache.get("a") is None
    assert not cache.put("b", "B", cache.epoch)


# ---- across processes ------------------------------------------------------------------------------
@pytest.fixture
async def two_hubs(settings, backing_urls) -> Any:  # noqa: ANN001
    first = AppContext.connect(settings, *backing_urls)
    second = AppContext.connect(settings, *backing_urls)
    try:
        assert await first.caches.start() and await second.caches.start()
        yield first.caches, second.caches
    finally:
        await first.close()
        await second.close()


async def test_an_invalidation_evicts_here_at_once_and_in_the_other_process_when_heard(two_hubs) -> None:
    here, there = two_hubs
    mine, theirs = here.cache("demo", 100, 60), there.cache("demo", 100, 60)
    for cache in (mine, theirs):
        cache.put("k1", "v1", cache.epoch)
        cache.put("k2", "v2", cache.epoch)
    await here.invalidate("demo", ["k1"])
    assert mine.get("k1") is None  # no wait for the message on the process that made the change
    await eventually(lambda: theirs.get("k1") is None, within=1.0)
    assert (mine.get("k2"), theirs.get("k2")) == ("v2", "v2")
    other = there.cache("other", 100, 60)
    other.put("k2", "x", other.epoch)
    await here.invalidate("demo", ["k2"])
    await eventually(lambda: theirs.get("k2") is None, within=1.0)
    assert other.get("k2") == "x"  # a message names its cache


async def test_a_malformed_message_is_ignored(two_hubs, ctx) -> None:  # noqa: ANN001
    here, there = two_hubs
    theirs = there.cache("demo", 100, 60)
    theirs.put("k", "v", theirs.epoch)
    await ctx.redis.publish(localcache.INVALIDATION_CHANNEL, "not json")
    await ctx.redis.publish(localcache.INVALIDATION_CHANNEL, json.dumps({"cache": "demo"}))
    await here.invalidate("demo", ["k"])
    await eventually(lambda: theirs.get("k") is None, within=1.0)
    assert there.listening


async def test_caches_serve_nothing_until_started_and_after_stopping(settings, backing_urls) -> None:  # noqa: ANN001
    ctx = AppContext.connect(settings, *backing_urls)
    try:
        cache = ctx.caches.cache("demo", 10, 60)
        assert not cache.put("k", "v", cache.epoch) and cache.get("k") is None
        assert await ctx.caches.start()
        assert cache.put("k", "v", cache.epoch) and cache.get("k") == "v"
        await ctx.caches.stop()
        assert cache.get("k") is None and not ctx.caches.listening
    finally:
        await ctx.close()


async def test_a_lost_subscription_empties_the_caches_and_they_resume_when_it_is_back(app) -> None:  # noqa: ANN001
    """Messages published while a subscriber reconnects are lost; it must not keep what it had."""
    cache = app.ctx.caches.cache("demo", 10, 60)
    assert app.ctx.caches.listening and cache.put("k", "v", cache.epoch)
    on_every_node = {"target_nodes": RedisCluster.ALL_NODES} if isinstance(app.ctx.redis, RedisCluster) else {}
    await app.ctx.redis.execute_command("CLIENT KILL", "TYPE", "pubsub", **on_every_node)
    await eventually(lambda: cache.get("k") is None, within=5.0)
    await eventually(lambda: app.ctx.caches.listening, within=10.0)
    assert cache.put("k", "v2", cache.epoch) and cache.get("k") == "v2"


async def test_stopping_does_not_hang_when_redis_is_gone(settings, backing_urls, tmp_path) -> None:  # noqa: ANN001
    redis = EmbeddedRedis(tmp_path / "redis").start()
    ctx = AppContext.connect(settings, backing_urls[0], redis.url)
    try:
        assert await ctx.caches.start()
        cache = ctx.caches.cache("demo", 10, 60)
        cache.put("k", "v", cache.epoch)
        redis.stop()
        await eventually(lambda: not ctx.caches.listening, within=15.0)
        assert cache.get("k") is None  # cannot hear invalidations: serves nothing
        began = time.monotonic()
        await ctx.caches.stop()
        assert time.monotonic() - began < 3
    finally:
        redis.stop()
        await ctx.close()


# ---- tokens across workers -------------------------------------------------------------------------
@pytest.fixture
async def other_worker(app, settings, backing_urls, clock) -> Any:  # noqa: ANN001
    """The same service in another process (its own caches), on the same MongoDB and Redis."""
    running = await start_app(settings, *backing_urls, clock=clock)
    assert running.ctx.caches.listening
    try:
        yield running
    finally:
        await stop_app(running, drop=False)


def resolved(worker: RunningApp, token: str) -> Any:
    cache = worker.ctx.caches.cache(tokens.TOKEN_CACHE, tokens.TOKEN_CACHE_ENTRIES, tokens.TOKEN_CACHE_SECONDS)
    return cache.get(tokens.token_digest(token))


async def test_a_new_token_works_at_once_and_is_then_served_from_memory(app, other_worker, make_citizen) -> None:  # noqa: ANN001
    _, token = await make_citizen()
    assert (await other_worker.fetch("GET", "/api/v1/me", token=token)).status == 200
    assert resolved(other_worker, token).kind == "citizen"
    assert (await other_worker.fetch("GET", "/api/v1/me", token="at_never-issued")).status == 401


async def test_operator_revocation_reaches_another_worker_through_pubsub(app, other_worker, make_citizen,  # noqa: ANN001
                                                                         operator_token, monkeypatch) -> None:
    # A TTL far beyond the test: only the invalidation message can end the cached token.
    monkeypatch.setattr(tokens, "TOKEN_CACHE_SECONDS", 60)
    citizen_id, token = await make_citizen()
    assert (await other_worker.fetch("GET", "/api/v1/me", token=token)).status == 200
    assert resolved(other_worker, token) is not None
    listener = app.ctx.redis.pubsub()
    await listener.subscribe(localcache.INVALIDATION_CHANNEL)
    try:
        response = await app.fetch("POST", f"/admin/v1/citizens/{citizen_id}/revoke-sessions", token=operator_token)
        assert response.status == 200
        took = await eventually(lambda: resolved(other_worker, token) is None, within=1.0)
        assert (await other_worker.fetch("GET", "/api/v1/me", token=token)).status == 401
        heard = []
        quiet_after = time.monotonic() + 0.5
        while time.monotonic() < quiet_after:
            message = await listener.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is not None:
                heard.append(message["data"])
    finally:
        await listener.aclose()
    assert took < 1.0
    announced = [json.loads(raw) for raw in heard]
    assert any(tokens.token_digest(token) in m["keys"] and m["cache"] == tokens.TOKEN_CACHE for m in announced)
    assert all(token not in raw for raw in heard)  # digests only, never the token


async def test_revocation_reaches_another_worker_within_a_second_even_if_the_message_is_lost(  # noqa: ANN001
        app, other_worker, make_citizen, operator_token, monkeypatch) -> None:
    monkeypatch.setattr(other_worker.ctx.caches, "_apply", lambda raw: None)  # deaf to invalidations
    citizen_id, token = await make_citizen()
    assert (await other_worker.fetch("GET", "/api/v1/me", token=token)).status == 200
    response = await app.fetch("POST", f"/admin/v1/citizens/{citizen_id}/revoke-sessions", token=operator_token)
    revoked_at = time.monotonic()
    assert response.status == 200

    async def refused() -> bool:
        return (await other_worker.fetch("GET", "/api/v1/me", token=token)).status == 401

    await eventually(refused, within=1.0)
    assert time.monotonic() - revoked_at < 1.0 + 0.2  # the TTL bound (plus one request's time)


# ---- application read models across workers --------------------------------------------------------
@pytest.fixture
async def passport(app) -> dict[str, Any]:  # noqa: ANN001
    document = service_item()
    await app.ctx.db.services.replace_one({"code": document["code"]}, dict(document), upsert=True)
    return document


async def test_an_operator_action_on_one_worker_reaches_the_citizen_on_another(  # noqa: ANN001
        app, other_worker, citizen, passport, make_operator, monkeypatch) -> None:
    monkeypatch.setattr(caches, "LOCAL_CACHE_SECONDS", 60)  # only the message can refresh it
    _, token = citizen
    clerk = await make_operator("clerk-gongan", ["department_operator"], "gongan")
    no = (await submit(app.fetch, token)).json()["application_no"]
    path = f"/api/v1/applications/{no}"
    for worker in (app, other_worker):  # both workers now hold it in memory
        assert (await worker.fetch("GET", path, token=token)).json()["status"] == "submitted"
        assert caches._local(worker.ctx).get(no) is not None

    assert (await act(app.fetch, clerk, no, "accept")).status == 200
    assert (await app.fetch("GET", path, token=token)).json()["status"] == "accepted"  # at once where it happened

    async def shown_elsewhere() -> bool:
        return (await other_worker.fetch("GET", path, token=token)).json()["status"] == "accepted"

    assert await eventually(shown_elsewhere, within=1.0) < 1.0
    # the citizen's own change, made on the other worker, is there at once too
    assert (await other_worker.fetch("POST", f"{path}/withdraw", json={}, token=token)).status == 200
    assert (await other_worker.fetch("GET", path, token=token)).json()["status"] == "withdrawn"


async def test_forget_reaches_every_worker(app, other_worker, citizen, passport, monkeypatch) -> None:  # noqa: ANN001
    """A change made outside models/applications.py (payments) is announced by forget()."""
    monkeypatch.setattr(caches, "LOCAL_CACHE_SECONDS", 60)
    _, token = citizen
    no = (await submit(app.fetch, token)).json()["application_no"]
    path = f"/api/v1/applications/{no}"
    assert (await other_worker.fetch("GET", path, token=token)).json()["payment"] is None
    await app.ctx.db.applications.update_one({"_id": no}, {"$set": {"payment": {"status": "paid", "amount_fen": 2000}}})
    await applications.forget(app.ctx, no)

    async def paid_elsewhere() -> bool:
        return (await other_worker.fetch("GET", path, token=token)).json()["payment"] == {"status": "paid", "amount_fen": 2000}

    await eventually(paid_elsewhere, within=1.0)
