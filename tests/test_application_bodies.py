"""The rendered-body cache of GET /api/v1/applications/{no}: evicted with the read model (at once on
this worker, through pub/sub on the others, within its lifetime if a message is lost), never served
to another citizen, one entry per locale, never older than the read model it was rendered from, and
never stale in its time-dependent deadline fields."""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Any

import pytest

from models import applications, deadlines, workdays
from models.applications import caches
from models.core.timezone import SHANGHAI
from tests.test_applications import act, clerk, item, submit  # noqa: F401 - fixtures
from tests.test_localcache import eventually, other_worker  # noqa: F401 - fixture


def cached(worker: Any, no: str, locale: str = "zh-CN") -> caches.RenderedView | None:
    return caches._rendered(worker.ctx).get(caches._rendered_key(no, locale))


async def shown(worker: Any, no: str, token: str, **headers: str) -> dict[str, Any]:
    response = await worker.fetch("GET", f"/api/v1/applications/{no}", token=token, headers=headers or None)
    assert response.status == 200, response.text
    return response.json()


async def test_a_change_evicts_the_body_here_at_once_and_on_another_worker_through_pubsub(  # noqa: ANN001
        app, other_worker, citizen, item, clerk, monkeypatch) -> None:
    # Lifetimes far beyond the test: only the invalidation can end the cached bodies.
    monkeypatch.setattr(caches, "RENDERED_SECONDS", 60)
    monkeypatch.setattr(caches, "LOCAL_CACHE_SECONDS", 60)
    _, token = citizen
    no = (await submit(app.fetch, token)).json()["application_no"]
    for worker in (app, other_worker):
        assert (await shown(worker, no, token))["status"] == "submitted"
        assert cached(worker, no) is not None

    assert (await act(app.fetch, clerk, no, "accept")).status == 200
    assert cached(app, no) is None
    assert (await shown(app, no, token))["status"] == "accepted"  # at once where it happened

    async def accepted_elsewhere() -> bool:
        return (await shown(other_worker, no, token))["status"] == "accepted"

    assert await eventually(accepted_elsewhere, within=1.0) < 1.0

    # A change made outside models/applications.py, announced by forget(), on the other worker.
    await shown(app, no, token)
    await app.ctx.db.applications.update_one({"_id": no}, {"$set": {"payment": {"status": "paid", "amount_fen": 100}}})
    await applications.forget(other_worker.ctx, no)
    assert (await shown(other_worker, no, token))["payment"] == {"status": "paid", "amount_fen": 100}

    async def paid_here() -> bool:
        return (await shown(app, no, token))["payment"] == {"status": "paid", "amount_fen": 100}

    assert await eventually(paid_here, within=1.0) < 1.0


async def test_a_lost_message_leaves_the_body_stale_no_longer_than_the_bound(  # noqa: ANN001
        app, other_worker, citizen, item, clerk, monkeypatch) -> None:
    monkeypatch.setattr(other_worker.ctx.caches, "_apply", lambda raw: None)  # deaf to invalidations
    # A read-model lifetime shorter than in production, to keep the test short, and a body lifetime
    # far beyond it: a body dies with the read model it was rendered from, so the bound is the latter.
    monkeypatch.setattr(caches, "RENDERED_SECONDS", 60)
    monkeypatch.setattr(caches, "LOCAL_CACHE_SECONDS", 0.5)
    _, token = citizen
    no = (await submit(app.fetch, token)).json()["application_no"]
    assert (await shown(other_worker, no, token))["status"] == "submitted"
    assert (await act(app.fetch, clerk, no, "accept")).status == 200
    changed_at = time.monotonic()

    async def accepted_elsewhere() -> bool:
        return (await shown(other_worker, no, token))["status"] == "accepted"

    bound = caches.LOCAL_CACHE_SECONDS
    await eventually(accepted_elsewhere, within=bound + 0.5)
    assert time.monotonic() - changed_at < bound + 0.3


async def test_a_read_model_found_unchanged_when_its_lifetime_runs_out_keeps_its_body(  # noqa: ANN001
        app, citizen, item, clerk, monkeypatch) -> None:
    monkeypatch.setattr(caches, "LOCAL_CACHE_SECONDS", 0.2)
    _, token = citizen
    no = (await submit(app.fetch, token)).json()["application_no"]
    assert (await act(app.fetch, clerk, no, "accept")).status == 200
    await shown(app, no, token)  # from the datastore
    await asyncio.sleep(0.3)
    first = await shown(app, no, token)  # from the Redis text, kept with the copy
    body, copy = cached(app, no), caches._local(app.ctx).get(no)
    await asyncio.sleep(0.3)
    assert caches._local(app.ctx).get(no) is None  # the lifetime ran out...
    assert await shown(app, no, token) == first
    assert caches._local(app.ctx).get(no) is copy  # ...and Redis held the same text: kept
    assert cached(app, no) is body  # not rendered again

    # The Redis text changes behind this worker's back (a message lost): read again at the next check.
    await app.ctx.db.applications.update_one({"_id": no}, {"$set": {"payment": {"status": "paid", "amount_fen": 100}}})
    monkeypatch.setattr(app.ctx.caches, "invalidate", _deaf_invalidate)
    await applications.forget(app.ctx, no)
    await asyncio.sleep(0.3)
    assert (await shown(app, no, token))["payment"] == {"status": "paid", "amount_fen": 100}
    assert cached(app, no) is not body


async def test_hot_read_models_are_renewed_ahead_so_reads_never_wait(app, citizen, item, clerk, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(caches, "LOCAL_CACHE_SECONDS", 2.0)
    _, token = citizen
    hot, changed, cold = [(await submit(app.fetch, token)).json()["application_no"] for _ in range(3)]
    for no in (hot, changed, cold):
        await shown(app, no, token)  # from the datastore: no Redis text to compare with yet
    await asyncio.sleep(2.1)
    for no in (hot, changed, cold):
        await shown(app, no, token)  # from the Redis text
    local = caches._local(app.ctx)
    copies = {no: local.get(no) for no in (hot, changed)}
    await shown(app, hot, token), await shown(app, changed, token)  # read since stored; `cold` is not
    assert await applications.renew_read_models(app.ctx) == 0  # a whole lifetime ahead: nothing due yet
    await asyncio.sleep(1.2)  # now within half a lifetime of the end
    # `changed` changes behind this worker's back (its message lost).
    await app.ctx.db.applications.update_one({"_id": changed}, {"$set": {"payment": {"status": "paid", "amount_fen": 100}}})
    monkeypatch.setattr(app.ctx.caches, "invalidate", _deaf_invalidate)
    await applications.forget(app.ctx, changed)
    assert await applications.renew_read_models(app.ctx) == 1
    await asyncio.sleep(1.2)  # past the first lifetime
    assert local.get(hot) is copies[hot]  # renewed: still live, the same object
    assert local.get(changed) is None and local.get(cold) is None  # left to expire
    assert (await shown(app, changed, token))["payment"] == {"status": "paid", "amount_fen": 100}


def test_renewal_runs_before_half_a_read_model_lifetime_passes() -> None:
    from server.registry import PERIODIC_TASKS

    interval = next(seconds for name, seconds, _ in PERIODIC_TASKS if name == "application_read_models")
    assert interval < caches.LOCAL_CACHE_SECONDS / 2


async def _deaf_invalidate(name: str, keys: Any) -> None:
    """An invalidation that reaches nobody, this worker included."""


async def test_another_citizen_gets_404_from_a_cached_body(app, citizen, make_citizen, item) -> None:  # noqa: ANN001
    _, token = citizen
    no = (await submit(app.fetch, token)).json()["application_no"]
    await shown(app, no, token)
    await shown(app, no, token, **{"Accept-Language": "en"})
    assert cached(app, no) is not None and cached(app, no, "en") is not None
    _, stranger = await make_citizen(name="别人")
    for headers in (None, {"Accept-Language": "en"}):
        response = await app.fetch("GET", f"/api/v1/applications/{no}", token=stranger, headers=headers)
        assert response.status == 404
        assert response.json()["code"] == "application_not_found"
        assert no not in response.text and "张三" not in response.text
    assert (await app.fetch("GET", f"/api/v1/applications/{no}")).status == 401
    assert (await shown(app, no, token))["application_no"] == no  # the owner still gets it


async def test_locale_variants_are_kept_apart(app, citizen, item) -> None:  # noqa: ANN001
    _, token = citizen
    no = (await submit(app.fetch, token)).json()["application_no"]
    for _ in range(2):  # the second round is served from memory
        zh = await shown(app, no, token)
        en = await shown(app, no, token, **{"Accept-Language": "en-US,en;q=0.9"})
        assert (zh["status_label"], zh["service_name"]) == ("已提交", "普通护照签发")
        assert (en["status_label"], en["service_name"]) == ("Submitted", "Ordinary passport issuance")
        assert zh["timeline"][0]["action_label"] != en["timeline"][0]["action_label"]
    assert cached(app, no).body != cached(app, no, "en").body


@pytest.mark.todays  # accepted on each today: the due date, its eve and its midnight move with it
async def test_time_dependent_fields_are_never_stale_past_the_bound(app, citizen, item, clerk, clock) -> None:  # noqa: ANN001
    _, token = citizen
    no = (await submit(app.fetch, token)).json()["application_no"]
    assert (await act(app.fetch, clerk, no, "accept")).status == 200
    record = (await app.ctx.db.applications.find_one({"_id": no}))["deadline"]
    due = datetime.date.fromisoformat(record["due_date"])

    async def deadline_at(instant: datetime.datetime) -> tuple[dict[str, Any], caches.RenderedView]:
        clock.set(instant)
        view = (await shown(app, no, token))["deadline"]
        expected = deadlines.view(record, clock.now)
        assert (view["days_left"], view["overdue"]) == (expected["days_left"], expected["overdue"])
        return view, cached(app, no)

    # Within the lifetime and nothing time-dependent changes: served from memory.
    noon = datetime.datetime.combine(due - datetime.timedelta(days=1), datetime.time(12), tzinfo=SHANGHAI)
    _, first = await deadline_at(noon)
    _, again = await deadline_at(noon + datetime.timedelta(seconds=1))
    assert again is first
    # Past the lifetime (by the injected clock): rendered again.
    _, later = await deadline_at(noon + datetime.timedelta(seconds=caches.RENDERED_SECONDS + 0.1))
    assert later is not first
    # Across the Shanghai midnight, a moment apart: days_left is the new day's.
    midnight = datetime.datetime.combine(due, datetime.time(), tzinfo=SHANGHAI)
    before, _ = await deadline_at(midnight - datetime.timedelta(milliseconds=300))
    after, _ = await deadline_at(midnight + datetime.timedelta(milliseconds=300))
    assert before["days_left"] != after["days_left"]
    # Across the due date's close of business: overdue at once.
    closing = workdays.close_of_business(due)
    before, _ = await deadline_at(closing - datetime.timedelta(milliseconds=300))
    after, _ = await deadline_at(closing + datetime.timedelta(milliseconds=300))
    assert (before["overdue"], after["overdue"]) == (False, True)
    # A clock set back is not served a body rendered "later".
    await deadline_at(noon)
