"""Guides and navigation lists as cacheable public documents: ETag and 304, Cache-Control and Vary,
per-language bodies, and every change seen at once, here and on another worker process.

A second app started on the same datastore and Redis stands for another `--workers` process: it has
its own rendered copies and hears the first one's changes only through Redis (`cg:invalidate`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from models.catalogue import rendered
from tests.conftest import RunningApp, start_app, stop_app
from tests.identity_support import WECHAT_APP

GUIDE = "/api/v1/services/GA-0001"
NAVIGATION = ("/api/v1/departments", "/api/v1/themes", "/api/v1/regions")
EN = {"Accept-Language": "en"}


async def eventually(check: Callable[[], Awaitable[bool]], within: float) -> float:
    """Poll `check` until it holds; how long that took, or fail after `within` seconds."""
    began = time.monotonic()
    while not await check():
        if time.monotonic() - began > within:
            raise AssertionError(f"not within {within}s")
        await asyncio.sleep(0.01)
    return time.monotonic() - began


def revalidating(etag: str, **more: str) -> dict[str, str]:
    return {"If-None-Match": etag, **more}


@pytest.fixture
async def other_worker(demo_app, settings, backing_urls, clock) -> Any:  # noqa: ANN001
    """The same service in another process (its own caches), on the same datastore and Redis."""
    running = await start_app(settings, *backing_urls, clock=clock)
    assert running.ctx.caches.listening
    try:
        yield running
    finally:
        await stop_app(running, drop=False)


@pytest.fixture
def long_lived(monkeypatch) -> None:  # noqa: ANN001
    """Rendered copies that outlive the test: only an invalidation can refresh them."""
    monkeypatch.setattr(rendered, "LOCAL_SECONDS", 3600.0)


def kept(worker: RunningApp, code: str, locale: str = "zh-CN") -> rendered.Document | None:
    return rendered.local_copies(worker.ctx).get(rendered.item_key(code, locale))


async def edit_phone(fetch, token: str, phone: str) -> None:  # noqa: ANN001
    changed = await fetch("PATCH", "/admin/v1/services/GA-0001", json={"guide": {"consultation_phone": phone}},
                          token=token)
    assert changed.status == 200, changed.text


# ---- validators and headers ------------------------------------------------------------------------
async def test_a_guide_has_a_strong_etag_of_its_bytes_and_cache_headers(demo_app, fetch) -> None:  # noqa: ANN001
    first = await fetch("GET", GUIDE)
    assert first.status == 200 and first.json()["code"] == "GA-0001"
    etag = first.headers["ETag"]
    assert etag == '"' + hashlib.blake2b(first.body, digest_size=16).hexdigest() + '"'  # strong: no W/
    assert first.headers["Cache-Control"] == "public, max-age=60, stale-while-revalidate=60"
    assert [v.strip() for v in first.headers["Vary"].split(",")] == ["Accept-Language", "X-CityGate-Channel",
                                                                     "Authorization"]
    assert first.headers["Content-Language"] == "zh-CN"
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    again = await fetch("GET", GUIDE)
    assert again.body == first.body and again.headers["ETag"] == etag


@pytest.mark.parametrize("offered", ["{etag}", "W/{etag}", '"stale", {etag}', 'W/"x", W/{etag}, "y"', "*"],
                         ids=["strong", "weak", "in-a-list", "weak-in-a-list", "star"])
async def test_a_matching_if_none_match_is_answered_304_without_a_body(demo_app, fetch, offered) -> None:  # noqa: ANN001
    for path in (GUIDE, *NAVIGATION):
        etag = (await fetch("GET", path)).headers["ETag"]
        answer = await fetch("GET", path, headers=revalidating(offered.format(etag=etag)))
        assert answer.status == 304, (path, answer.status)
        assert answer.body == b""
        assert answer.headers["ETag"] == etag  # a 304 carries the validator and the caching headers
        assert answer.headers["Cache-Control"].startswith("public, max-age=60")
        assert "Accept-Language" in answer.headers["Vary"]
        assert "Content-Type" not in answer.headers


async def test_an_if_none_match_that_does_not_match_gets_the_body(demo_app, fetch) -> None:  # noqa: ANN001
    first = await fetch("GET", GUIDE)
    for offered in ('"stale"', 'W/"stale", "other"', first.headers["ETag"][:-2] + '"', ""):
        answer = await fetch("GET", GUIDE, headers=revalidating(offered))
        assert answer.status == 200 and answer.body == first.body, offered


async def test_each_language_has_its_own_body_and_etag(demo_app, fetch) -> None:  # noqa: ANN001
    for path in (GUIDE, *NAVIGATION):
        chinese, english = await fetch("GET", path), await fetch("GET", path, headers=EN)
        assert chinese.body != english.body, path
        assert chinese.headers["ETag"] != english.headers["ETag"], path
        assert (chinese.headers["Content-Language"], english.headers["Content-Language"]) == ("zh-CN", "en")
        # a tag of the Chinese body does not revalidate the English one
        crossed = await fetch("GET", path, headers=revalidating(chinese.headers["ETag"], **EN))
        assert crossed.status == 200 and crossed.body == english.body
        assert (await fetch("GET", path, headers=revalidating(english.headers["ETag"], **EN))).status == 304
    assert (await fetch("GET", GUIDE, headers=EN)).json()["name"] == "Ordinary passport issuance"


async def test_a_caller_with_a_token_is_told_private(demo_app, fetch, citizen) -> None:  # noqa: ANN001
    answer = await fetch("GET", GUIDE, token=citizen[1])
    assert answer.status == 200
    assert answer.headers["Cache-Control"] == "private, max-age=60, stale-while-revalidate=60"
    assert answer.headers["ETag"] == (await fetch("GET", GUIDE)).headers["ETag"]  # the same document
    regions = await fetch("GET", "/api/v1/regions", token=citizen[1])
    assert regions.headers["Cache-Control"].startswith("public") and regions.headers["Vary"] == "Accept-Language"


async def test_errors_carry_no_validator_and_are_never_stored(demo_app, fetch) -> None:  # noqa: ANN001
    for path in ("/api/v1/services/NOPE-0001", "/api/v1/services/MZ-9001"):  # unknown; a draft
        missing = await fetch("GET", path, headers=revalidating("*"))
        assert missing.status == 404 and missing.json()["code"] == "service_not_found"
        assert missing.headers["Cache-Control"] == "no-store" and "ETag" not in missing.headers
        assert missing.headers["Content-Type"].startswith("application/problem+json")
    long = await fetch("GET", "/api/v1/services/" + "A" * 300)
    assert long.status == 404 and long.json()["code"] == "service_not_found"
    unknown = await fetch("GET", "/api/v1/departments", headers={"X-CityGate-Channel": "wxnosuchapp0001"})
    assert unknown.status == 400 and unknown.headers["Cache-Control"] == "no-store" and "ETag" not in unknown.headers


# ---- changes, in this process ----------------------------------------------------------------------
async def test_publish_edit_and_unpublish_are_seen_at_once(demo_app, fetch, operator_token, long_lived) -> None:  # noqa: ANN001
    draft = "/api/v1/services/MZ-9001"  # the demo's one draft: complete it, then publish
    assert (await fetch("GET", draft)).status == 404
    departments = await fetch("GET", "/api/v1/departments")
    assert "minzong" not in [d["code"] for d in departments.json()["items"]]
    item = (await fetch("GET", "/admin/v1/services/MZ-9001", token=operator_token)).json()
    complete = (await fetch("GET", "/admin/v1/services/MZ-0007", token=operator_token)).json()["guide"]
    assert item["publishable"] is False
    patched = await fetch("PATCH", "/admin/v1/services/MZ-9001", json={"guide": complete}, token=operator_token)
    assert patched.status == 200 and patched.json()["publishable"], patched.text
    assert (await fetch("GET", draft)).status == 404  # an edit of a draft shows nothing
    assert (await fetch("POST", "/admin/v1/services/MZ-9001/publish", token=operator_token)).status == 200

    published = await fetch("GET", draft)  # the 404 before was not kept
    assert published.status == 200 and published.json()["code"] == "MZ-9001"
    listed = await fetch("GET", "/api/v1/departments", headers=revalidating(departments.headers["ETag"]))
    assert listed.status == 200 and listed.headers["ETag"] != departments.headers["ETag"]
    assert next(d for d in listed.json()["items"] if d["code"] == "minzong")["item_count"] == 1

    before = await fetch("GET", GUIDE)
    await edit_phone(fetch, operator_token, "0571-87000001")
    after = await fetch("GET", GUIDE, headers=revalidating(before.headers["ETag"]))
    assert after.status == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert after.json()["guide"]["consultation_phone"] == "0571-87000001"
    assert (await fetch("GET", GUIDE, headers=revalidating(after.headers["ETag"]))).status == 304

    assert (await fetch("POST", "/admin/v1/services/MZ-9001/unpublish", token=operator_token)).status == 200
    gone = await fetch("GET", draft, headers=revalidating(published.headers["ETag"]))
    assert gone.status == 404 and gone.json()["code"] == "service_not_found"
    assert "minzong" not in [d["code"] for d in (await fetch("GET", "/api/v1/departments")).json()["items"]]


async def test_a_guide_is_served_from_memory_until_it_changes(demo_app, fetch, operator_token, long_lived) -> None:  # noqa: ANN001
    first = await fetch("GET", GUIDE)
    assert kept(demo_app, "GA-0001").etag == first.headers["ETag"]
    # a write behind the catalogue's back (no model function) is not seen: proof that reads come from memory
    await demo_app.ctx.db.services.update_one({"code": "GA-0001"}, {"$set": {"guide.consultation_phone": "0571-1"}})
    assert (await fetch("GET", GUIDE)).body == first.body
    await edit_phone(fetch, operator_token, "0571-87000002")  # through the catalogue: evicted at once
    assert (await fetch("GET", GUIDE)).json()["guide"]["consultation_phone"] == "0571-87000002"


# ---- channels --------------------------------------------------------------------------------------
async def test_through_a_channel_the_same_guide_or_404_and_its_own_navigation(  # noqa: ANN001
        demo_app, fetch, make_operator) -> None:
    manager = await make_operator("channel-manager", ["channel_manager"])
    anonymous = await fetch("GET", GUIDE)
    everything = await fetch("GET", "/api/v1/departments")
    exposed = {"exposed_services": ["GA-0001", "JJ-0001"]}
    assert (await fetch("PATCH", f"/admin/v1/channels/{WECHAT_APP}", token=manager, json=exposed)).status == 200
    through = {"X-CityGate-Channel": WECHAT_APP}
    shown = await fetch("GET", GUIDE, headers=through)
    assert shown.status == 200 and shown.headers["ETag"] == anonymous.headers["ETag"]
    hidden = await fetch("GET", "/api/v1/services/GA-0002", headers=revalidating("*", **through))
    assert hidden.status == 404 and "ETag" not in hidden.headers
    limited = await fetch("GET", "/api/v1/departments", headers=through)
    assert sorted(d["code"] for d in limited.json()["items"]) == ["gongan", "jiaojing"]
    assert limited.headers["ETag"] != everything.headers["ETag"]
    assert (await fetch("GET", "/api/v1/departments", headers=revalidating(everything.headers["ETag"], **through))).status == 200
    assert (await fetch("GET", "/api/v1/departments", headers=revalidating(limited.headers["ETag"], **through))).status == 304
    assert (await fetch("GET", "/api/v1/departments")).body == everything.body  # the channel's list is its own

    # the channel's list changes: its navigation follows at once
    wider = {"exposed_services": ["GA-0001", "JJ-0001", "MZ-0104"]}
    assert (await fetch("PATCH", f"/admin/v1/channels/{WECHAT_APP}", token=manager, json=wider)).status == 200
    again = await fetch("GET", "/api/v1/departments", headers=revalidating(limited.headers["ETag"], **through))
    assert again.status == 200 and sorted(d["code"] for d in again.json()["items"]) == ["gongan", "jiaojing", "minzheng"]


# ---- changes, across worker processes -------------------------------------------------------------
async def test_a_change_on_one_worker_is_served_by_another_at_once(  # noqa: ANN001
        demo_app, other_worker, operator_token, long_lived) -> None:
    for worker in (demo_app, other_worker):  # both hold the guide and the lists in memory
        for headers in ({}, EN):
            assert (await worker.fetch("GET", GUIDE, headers=headers)).status == 200
        assert (await worker.fetch("GET", "/api/v1/departments")).status == 200
    assert kept(other_worker, "GA-0001") is not None and kept(other_worker, "GA-0001", "en") is not None
    old = (await other_worker.fetch("GET", GUIDE)).headers["ETag"]
    departments = (await other_worker.fetch("GET", "/api/v1/departments")).json()["items"]

    await edit_phone(demo_app.fetch, operator_token, "0571-87000003")

    async def edited_elsewhere() -> bool:
        answer = await other_worker.fetch("GET", GUIDE, headers=revalidating(old))
        return answer.status == 200 and answer.json()["guide"]["consultation_phone"] == "0571-87000003"

    assert await eventually(edited_elsewhere, within=1.0) < 1.0
    here, there = await demo_app.fetch("GET", GUIDE, headers=EN), await other_worker.fetch("GET", GUIDE, headers=EN)
    assert there.json()["guide"]["consultation_phone"] == "0571-87000003"
    assert here.headers["ETag"] == there.headers["ETag"]  # the same bytes, the same tag, whichever worker answers

    assert (await demo_app.fetch("POST", "/admin/v1/services/GA-0001/unpublish", token=operator_token)).status == 200

    async def gone_elsewhere() -> bool:
        return (await other_worker.fetch("GET", GUIDE)).status == 404

    await eventually(gone_elsewhere, within=1.0)
    counted = (await other_worker.fetch("GET", "/api/v1/departments")).json()["items"]
    gongan = [d["item_count"] for d in (departments, counted) for d in d if d["code"] == "gongan"]
    assert gongan[1] == gongan[0] - 1

    # published again through the other worker: back on the first at once
    assert (await other_worker.fetch("POST", "/admin/v1/services/GA-0001/publish", token=operator_token)).status == 200

    async def back_here() -> bool:
        return (await demo_app.fetch("GET", GUIDE)).status == 200

    await eventually(back_here, within=1.0)


async def test_a_worker_deaf_to_invalidations_keeps_its_copy(  # noqa: ANN001
        demo_app, other_worker, operator_token, long_lived, monkeypatch) -> None:
    """What the test above relies on: without the message the other worker would serve the old guide."""
    before = await other_worker.fetch("GET", GUIDE)
    monkeypatch.setattr(other_worker.ctx.caches, "_apply", lambda raw: None)
    await edit_phone(demo_app.fetch, operator_token, "0571-87000004")
    await asyncio.sleep(0.3)
    assert (await other_worker.fetch("GET", GUIDE)).body == before.body
    assert (await demo_app.fetch("GET", GUIDE)).json()["guide"]["consultation_phone"] == "0571-87000004"
