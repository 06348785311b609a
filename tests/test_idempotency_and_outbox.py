"""Idempotency keys and the notification outbox mechanism (the senders are tested with their channels)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import types

import pytest
from pymongo.errors import AutoReconnect

from models import idempotency, notifications, outbox
from models.errors import Conflict, NotFound

UTC = datetime.UTC


async def test_retry_with_same_key_and_body_replays_first_result(ctx) -> None:
    calls = []

    async def create():
        calls.append(1)
        return 201, {"application_no": f"NO-{len(calls)}"}

    first = await idempotency.run_once(ctx, "citizen:1:apply", "key-1", {"a": 1}, create)
    second = await idempotency.run_once(ctx, "citizen:1:apply", "key-1", {"a": 1}, create)
    assert first == second == (201, {"application_no": "NO-1"})
    assert len(calls) == 1


async def test_same_key_with_other_body_is_409(ctx) -> None:
    async def create():
        return 201, {"ok": True}

    await idempotency.run_once(ctx, "citizen:1:apply", "key-2", {"a": 1}, create)
    with pytest.raises(Conflict) as caught:
        await idempotency.run_once(ctx, "citizen:1:apply", "key-2", {"a": 2}, create)
    assert caught.value.code == "idempotency_key_reused"


async def test_keys_are_scoped_per_caller(ctx) -> None:
    async def create_for(who):
        async def create():
            return 201, {"who": who}
        return create

    a = await idempotency.run_once(ctx, "citizen:A:apply", "same", {}, await create_for("A"))
    b = await idempotency.run_once(ctx, "citizen:B:apply", "same", {}, await create_for("B"))
    assert (a[1]["who"], b[1]["who"]) == ("A", "B")


async def test_concurrent_retries_create_once(ctx) -> None:
    calls = []

    async def create():
        calls.append(1)
        await asyncio.sleep(0.1)
        return 201, {"n": len(calls)}

    results = await asyncio.gather(*(idempotency.run_once(ctx, "s", "k", {}, create) for _ in range(10)),
                                   return_exceptions=True)
    assert len(calls) == 1
    successes = [r for r in results if not isinstance(r, Exception)]
    assert successes and all(r == (201, {"n": 1}) for r in successes)
    assert all(isinstance(r, Conflict) and r.code == "idempotency_in_progress" for r in results if isinstance(r, Exception))


async def test_refused_request_frees_the_key(ctx) -> None:
    async def refuse():
        raise NotFound("service_not_found")

    async def create():
        return 201, {"ok": True}

    with pytest.raises(NotFound):
        await idempotency.run_once(ctx, "s", "k3", {"a": 1}, refuse)
    assert await idempotency.run_once(ctx, "s", "k3", {"a": 1}, create) == (201, {"ok": True})


class Creations:
    """A create that keeps its key record beside what it writes (as applications.create does), and its
    `recover`; `fail_after_write` makes the next call write and then lose its answer."""

    def __init__(self, ctx) -> None:
        self.ctx, self.calls, self.fail_after_write, self.fail_before_write = ctx, 0, False, False

    async def create(self):
        self.calls += 1
        if self.fail_before_write:
            self.fail_before_write = False
            raise AutoReconnect("the datastore went away before the write")
        await self.ctx.db.things.insert_one({"record": idempotency.current_record.get(), "n": self.calls})
        if self.fail_after_write:
            self.fail_after_write = False
            raise AutoReconnect("the answer of the commit was lost")
        return 201, {"n": self.calls}

    async def recover(self, record):
        found = await self.ctx.db.things.find_one({"record": record})
        return None if found is None else (201, {"n": found["n"]})


async def test_a_create_whose_answer_was_lost_is_recovered_not_repeated(ctx) -> None:
    creations = Creations(ctx)
    creations.fail_after_write = True
    with pytest.raises(AutoReconnect):
        await idempotency.run_once(ctx, "s", "k-lost", {"a": 1}, creations.create, creations.recover)
    # The retry finds what the first attempt committed instead of creating again.
    assert await idempotency.run_once(ctx, "s", "k-lost", {"a": 1}, creations.create, creations.recover) == (201, {"n": 1})
    assert creations.calls == 1 and await ctx.db.things.count_documents({}) == 1
    # ... and from then on the key replays as usual.
    assert await idempotency.run_once(ctx, "s", "k-lost", {"a": 1}, creations.create, creations.recover) == (201, {"n": 1})


async def test_a_create_that_failed_before_writing_runs_again_on_retry(ctx) -> None:
    creations = Creations(ctx)
    creations.fail_before_write = True
    with pytest.raises(AutoReconnect):
        await idempotency.run_once(ctx, "s", "k-early", {}, creations.create, creations.recover)
    assert await idempotency.run_once(ctx, "s", "k-early", {}, creations.create, creations.recover) == (201, {"n": 2})
    assert await ctx.db.things.count_documents({}) == 1


async def test_a_running_record_left_by_a_dead_worker_is_recovered_once_stale(ctx, clock) -> None:
    creations = Creations(ctx)
    clock.set(2026, 3, 2, 10, 0)
    # A worker claimed the key, wrote, and died before recording the answer: the record stays "running".
    await ctx.db.idempotency_keys.insert_one({"_id": "s:k-dead", "digest": idempotency.fingerprint({}),
                                              "state": "running", "created_at": clock(),
                                              "expires_at": clock() + idempotency.KEEP_FOR})
    await ctx.db.things.insert_one({"record": "s:k-dead", "n": 7})
    with pytest.raises(Conflict) as caught:  # still within a request's time: it may be running
        await idempotency.run_once(ctx, "s", "k-dead", {}, creations.create, creations.recover)
    assert caught.value.code == "idempotency_in_progress"
    clock.advance(seconds=61)
    assert await idempotency.run_once(ctx, "s", "k-dead", {}, creations.create, creations.recover) == (201, {"n": 7})
    assert creations.calls == 0


@dataclasses.dataclass
class Result:
    outcome: str
    reason: str = ""


@pytest.fixture
def sender(monkeypatch):
    """A recording stand-in for the channel senders, to test the outbox's own bookkeeping."""
    module = types.ModuleType("models.notifications")
    module.outcomes = []
    module.sent = []

    async def send_message(ctx, citizen, message):
        module.sent.append(message["id"])
        return Result(module.outcomes.pop(0) if module.outcomes else "sent")

    module.send_message = send_message
    monkeypatch.setattr(notifications, "send_message", send_message)
    return module


async def test_one_record_per_dedupe_key(ctx) -> None:
    assert await outbox.enqueue(ctx, citizen_id="c", event="e", dedupe_key="application:1:2", template="t", data={})
    assert not await outbox.enqueue(ctx, citizen_id="c", event="e", dedupe_key="application:1:2", template="t", data={})
    assert await ctx.db.outbox.count_documents({}) == 1


async def test_delivery_retries_with_backoff_then_sends_once(ctx, clock, make_citizen, sender) -> None:
    citizen_id, _ = await make_citizen()
    now = datetime.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    clock.set(now)
    await outbox.enqueue(ctx, citizen_id=citizen_id, event="accepted", dedupe_key="application:9:2",
                         template="application_status", data={"status": "accepted"})
    sender.outcomes = ["retry"]
    assert await outbox.deliver_due(ctx) == 1
    record = await ctx.db.outbox.find_one({"_id": "application:9:2"})
    assert record["status"] == "retry" and record["next_attempt_at"] == now + datetime.timedelta(seconds=5)
    assert await outbox.deliver_due(ctx) == 0  # not due yet
    clock.advance(seconds=6)
    assert await outbox.deliver_due(ctx) == 1
    assert (await ctx.db.outbox.find_one({"_id": "application:9:2"}))["status"] == "sent"
    assert await outbox.deliver_due(ctx) == 0
    assert sender.sent == ["application:9:2", "application:9:2"]


async def test_a_dead_workers_lease_expires_and_another_worker_sends(ctx, clock, make_citizen, sender) -> None:
    citizen_id, _ = await make_citizen()
    clock.set(datetime.datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    await outbox.enqueue(ctx, citizen_id=citizen_id, event="e", dedupe_key="k1", template="t", data={})
    claimed = await outbox.claim_next(ctx)  # a worker claims it, then dies before sending
    assert claimed["_id"] == "k1"
    assert await outbox.deliver_due(ctx) == 0  # still leased
    clock.advance(outbox.LEASE + datetime.timedelta(seconds=1))
    assert await outbox.deliver_due(ctx) == 1
    assert sender.sent == ["k1"]


async def test_gives_up_after_max_attempts_and_skips_unknown_citizens(ctx, clock, make_citizen, sender) -> None:
    citizen_id, _ = await make_citizen()
    clock.set(datetime.datetime(2026, 11, 23, tzinfo=UTC))
    await outbox.enqueue(ctx, citizen_id=citizen_id, event="e", dedupe_key="k2", template="t", data={})
    await outbox.enqueue(ctx, citizen_id="000000000000000000000000", event="e", dedupe_key="k3", template="t", data={})
    sender.outcomes = ["retry"] * outbox.MAX_ATTEMPTS
    for _ in range(outbox.MAX_ATTEMPTS + 1):
        await outbox.deliver_due(ctx)
        clock.advance(hours=2)
    assert (await ctx.db.outbox.find_one({"_id": "k2"}))["status"] == "failed"
    assert (await ctx.db.outbox.find_one({"_id": "k3"}))["status"] == "skipped"
