"""An Idempotency-Key's record, around its expiry, on whichever datastore runs the tests.

The datastore's TTL sweep removes expired records on its own schedule (MongoDB's monitor once a
minute); the claim must neither depend on that schedule nor lose a live record to it.
"""

from __future__ import annotations

import datetime

from models import idempotency


def counting_create() -> tuple[list[int], object]:
    calls: list[int] = []

    async def create() -> tuple[int, dict]:
        calls.append(1)
        return 201, {"n": len(calls)}
    return calls, create


async def test_a_record_whose_date_has_passed_is_still_replayed_until_it_expires_by_our_clock(ctx, clock) -> None:
    # A clock days behind the datastore's: the record's expires_at is already past by real time.
    clock.set(datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=5))
    calls, create = counting_create()
    first = await idempotency.run_once(ctx, "citizen:c1:op", "key-1", {"a": 1}, create)
    again = await idempotency.run_once(ctx, "citizen:c1:op", "key-1", {"a": 1}, create)
    assert first == again == (201, {"n": 1}) and len(calls) == 1


async def test_a_record_expired_by_our_clock_is_claimed_again(ctx, clock) -> None:
    calls, create = counting_create()
    await idempotency.run_once(ctx, "citizen:c1:op", "key-2", {"a": 1}, create)
    clock.advance(idempotency.KEEP_FOR + datetime.timedelta(seconds=1))
    # Whether or not the sweep has removed it, an expired key runs the create again (even with another body).
    assert await idempotency.run_once(ctx, "citizen:c1:op", "key-2", {"a": 2}, create) == (201, {"n": 2})
    assert len(calls) == 2
    assert await idempotency.run_once(ctx, "citizen:c1:op", "key-2", {"a": 2}, create) == (201, {"n": 2})
    assert len(calls) == 2
