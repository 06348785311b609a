"""Sessions: rotating refresh tokens, reuse detection, logout, operator revocation — across workers."""

from __future__ import annotations

import pytest

from tests.conftest import start_app, stop_app
from tests.identity_support import alipay_login, wechat_login, with_demo_channels


@pytest.fixture
async def channels_app(app):  # noqa: ANN001, ANN201
    return await with_demo_channels(app)


async def refresh(fetch, refresh_token: str):  # noqa: ANN001, ANN201
    return await fetch("POST", "/api/v1/auth/refresh", json={"refresh_token": refresh_token})


async def me_status(fetch, token: str) -> int:  # noqa: ANN001
    return (await fetch("GET", "/api/v1/me", token=token)).status


async def test_refresh_rotates_both_tokens(channels_app, fetch) -> None:
    login = await wechat_login(fetch, "o-rotate")
    first = await refresh(fetch, login["refresh_token"])
    assert first.status == 200
    pair = first.json()
    assert pair["refresh_token"] != login["refresh_token"] and pair["access_token"] != login["access_token"]
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 900 and pair["refresh_expires_in"] > 0
    assert await me_status(fetch, pair["access_token"]) == 200
    second = await refresh(fetch, pair["refresh_token"])
    assert second.status == 200
    assert await me_status(fetch, second.json()["access_token"]) == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(channels_app, fetch, clock) -> None:
    login = await wechat_login(fetch, "o-stolen")
    other_device = await wechat_login(fetch, "o-stolen")  # a separate login: its own family
    rotated = (await refresh(fetch, login["refresh_token"])).json()
    latest = (await refresh(fetch, rotated["refresh_token"])).json()

    clock.advance(seconds=5)  # a replay, not a double tap: it comes after the grace period
    replay = await refresh(fetch, login["refresh_token"])  # the thief replays the first token
    assert (replay.status, replay.json()["code"]) == (401, "refresh_token_reused")

    for token in (login["access_token"], rotated["access_token"], latest["access_token"]):
        assert await me_status(fetch, token) == 401
    after = await refresh(fetch, latest["refresh_token"])
    assert (after.status, after.json()["code"]) == (401, "session_revoked")
    # the other login of the same citizen is a different family and keeps working
    assert await me_status(fetch, other_device["access_token"]) == 200
    assert (await refresh(fetch, other_device["refresh_token"])).status == 200


async def test_invalid_and_expired_refresh_tokens(channels_app, fetch) -> None:
    for bad in ("", "rt_made-up", "at_not-a-refresh-token", None):
        response = await fetch("POST", "/api/v1/auth/refresh", json={"refresh_token": bad})
        assert (response.status, response.json()["code"]) == (401, "refresh_token_invalid")
    login = await wechat_login(fetch, "o-expired")
    await channels_app.ctx.db.refresh_tokens.update_many({}, {"$set": {"expires_at": channels_app.ctx.clock()}})
    expired = await refresh(fetch, login["refresh_token"])
    assert (expired.status, expired.json()["code"]) == (401, "refresh_token_expired")


async def test_concurrent_refreshes_only_one_wins(channels_app, fetch) -> None:
    import asyncio

    login = await wechat_login(fetch, "o-double-tap")
    results = await asyncio.gather(*(refresh(fetch, login["refresh_token"]) for _ in range(4)))
    assert sorted(r.status for r in results) == [200, 401, 401, 401]
    # the double tap does not cost the citizen the session: the winner's new tokens keep working
    winner = next(r.json() for r in results if r.status == 200)
    assert await me_status(fetch, winner["access_token"]) == 200
    assert (await refresh(fetch, winner["refresh_token"])).status == 200


async def test_logout_ends_this_session_only(channels_app, fetch) -> None:
    phone = await wechat_login(fetch, "o-logout")
    tablet = await wechat_login(fetch, "o-logout")
    response = await fetch("POST", "/api/v1/auth/logout", token=phone["access_token"])
    assert response.status == 200 and response.json()["logged_out"] is True
    assert await me_status(fetch, phone["access_token"]) == 401
    gone = await refresh(fetch, phone["refresh_token"])
    assert (gone.status, gone.json()["code"]) == (401, "session_revoked")
    assert await me_status(fetch, tablet["access_token"]) == 200
    assert (await fetch("POST", "/api/v1/auth/logout")).status == 401


async def test_logout_everywhere(channels_app, fetch) -> None:
    phone = await wechat_login(fetch, "o-everywhere")
    tablet = await wechat_login(fetch, "o-everywhere")
    response = await fetch("POST", "/api/v1/auth/logout", json={"everywhere": True}, token=phone["access_token"])
    assert response.json()["revoked_sessions"] == 2
    for session in (phone, tablet):
        assert await me_status(fetch, session["access_token"]) == 401
        assert (await refresh(fetch, session["refresh_token"])).status == 401


async def test_logout_takes_effect_on_every_worker_at_once(channels_app, fetch, settings, backing_urls, clock) -> None:
    """A second server process on the same datastore (another worker) sees the logout immediately."""
    other_worker = await start_app(settings, *backing_urls, clock=clock)
    try:
        session = await wechat_login(fetch, "o-two-workers")
        assert (await other_worker.fetch("GET", "/api/v1/me", token=session["access_token"])).status == 200
        await fetch("POST", "/api/v1/auth/logout", token=session["access_token"])
        assert (await other_worker.fetch("GET", "/api/v1/me", token=session["access_token"])).status == 401
        replay = await other_worker.fetch("POST", "/api/v1/auth/refresh",
                                          json={"refresh_token": session["refresh_token"]})
        assert replay.status == 401
    finally:
        await stop_app(other_worker, drop=False)


async def test_operator_revokes_every_session_of_a_citizen(channels_app, fetch, operator_token, make_operator) -> None:
    wechat = await wechat_login(fetch, "o-lost-phone")
    second = await wechat_login(fetch, "o-lost-phone")
    bystander = await alipay_login(fetch, "2088000000000010")
    citizen_id = wechat["citizen"]["id"]
    path = f"/admin/v1/citizens/{citizen_id}/revoke-sessions"

    assert (await fetch("POST", path, token=wechat["access_token"])).status == 401  # citizens cannot
    clerk = await make_operator("clerk", ["department_operator"])
    assert (await fetch("POST", path, token=clerk)).status == 403
    response = await fetch("POST", path, token=operator_token)
    assert response.status == 200
    assert response.json()["citizen_id"] == citizen_id and response.json()["revoked_sessions"] == 2
    for session in (wechat, second):
        assert await me_status(fetch, session["access_token"]) == 401
        assert (await refresh(fetch, session["refresh_token"])).status == 401
    assert await me_status(fetch, bystander["access_token"]) == 200
    # the citizen can simply log in again
    assert await me_status(fetch, (await wechat_login(fetch, "o-lost-phone"))["access_token"]) == 200


async def test_revoking_an_unknown_citizen_is_404(channels_app, fetch, operator_token) -> None:
    for citizen_id in ("000000000000000000000000", "not-an-id"):
        response = await fetch("POST", f"/admin/v1/citizens/{citizen_id}/revoke-sessions", token=operator_token)
        assert (response.status, response.json()["code"]) == (404, "citizen_not_found")
