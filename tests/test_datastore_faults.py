"""Faults between the service and its datastore: a lost reply inside a transaction, a datastore that
goes away and comes back. Through tests/fault_proxy.py, a TCP proxy on the real wire protocol, in
front of the session's real datastore."""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

import pytest

from server.embedded import EmbeddedMongo
from tests.conftest import start_app, stop_app
from tests.fault_proxy import FaultProxy
from tests.test_applications import GOOD_FORM, materials_for, service_item


@pytest.fixture
async def proxied(settings, backing_urls, clock) -> Any:
    """(app, proxy): an app whose datastore connections all pass through a FaultProxy."""
    port = urllib.parse.urlsplit(backing_urls[0]).port
    proxy = await FaultProxy(port).start()
    running = await start_app(settings, proxy.url, backing_urls[1], clock=clock)
    await running.ctx.redis.flushdb()
    await running.ctx.db.services.insert_one(service_item())
    try:
        yield running, proxy
    finally:
        proxy.target_port = port  # new connections reach the datastore again; live ones stay
        await stop_app(running)
        await proxy.stop()


async def new_citizen(running) -> str:
    from models import tokens
    from models.tokens import Principal
    citizen = await running.ctx.db.citizens.insert_one({"profile": {}, "identities": []})
    pair = await tokens.start_session(running.ctx, Principal("citizen", str(citizen.inserted_id)))
    return pair.access_token


def in_transaction_insert(collection: str):
    return lambda name, body: name == "insert" and body.get("insert") == collection and "txnNumber" in body


async def test_a_transaction_whose_reply_is_lost_is_retried_and_applies_once(proxied) -> None:
    running, proxy = proxied
    token = await new_citizen(running)
    body = {"service_code": "GA-0001", "form": GOOD_FORM, "materials": await materials_for(running.fetch, token)}
    # The datastore writes the timeline event inside the submission's transaction, and the answer is lost:
    # the driver sees a network error (TransientTransactionError) and the whole transaction runs again.
    proxy.lose_reply_once(in_transaction_insert("application_events"))
    response = await running.fetch("POST", "/api/v1/applications", json=body, token=token)
    assert response.status == 201, response.text
    assert proxy.lost_replies == ["insert"]
    no = response.json()["application_no"]
    db = running.ctx.db
    assert await db.applications.count_documents({}) == 1
    assert await db.application_events.count_documents({"application_no": no}) == 1
    assert await db.outbox.count_documents({}) == 1
    # The first attempt was aborted, then the same work ran again.
    assert proxy.commands.count("abortTransaction") >= 1 and proxy.commands.count("commitTransaction") == 1


async def test_a_state_change_whose_reply_is_lost_applies_once(proxied) -> None:
    running, proxy = proxied
    from models import operators
    token = await new_citizen(running)
    body = {"service_code": "GA-0001", "form": GOOD_FORM, "materials": await materials_for(running.fetch, token)}
    no = (await running.fetch("POST", "/api/v1/applications", json=body, token=token)).json()["application_no"]
    await operators.upsert_operator(running.ctx.db, "clerk", "pw-clerk-1234", ["department_operator"],
                                    department="gongan")
    clerk = (await operators.login(running.ctx, "clerk", "pw-clerk-1234"))["access_token"]
    proxy.lose_reply_once(in_transaction_insert("outbox"))
    accepted = await running.fetch("POST", f"/admin/v1/applications/{no}/actions", json={"action": "accept"},
                                   token=clerk)
    assert accepted.status == 200, accepted.text
    assert proxy.lost_replies == ["insert"]
    application = await running.ctx.db.applications.find_one({"_id": no})
    assert (application["status"], application["version"]) == ("accepted", 2)
    assert await running.ctx.db.application_events.count_documents({"application_no": no}) == 2
    assert await running.ctx.db.outbox.count_documents({}) == 2


async def test_a_datastore_that_is_gone_is_a_clear_503_and_service_resumes_when_it_returns(
        proxied, tmp_path) -> None:
    running, proxy = proxied
    token = await new_citizen(running)
    original = proxy.target_port
    down = EmbeddedMongo(tmp_path / "gone")  # never started: its port refuses
    proxy.retarget(down.port or 1)
    for language, text in (("zh-CN", "数据服务暂不可用"), ("en", "datastore is unavailable")):
        response = await running.fetch("GET", "/api/v1/applications", token=token,
                                       headers={"Accept-Language": language}, timeout=60)
        assert response.status == 503, response.text
        problem = response.json()
        assert problem["code"] == "datastore_unavailable" and text in problem["detail"]
        assert response.headers["Retry-After"] == "2"
        assert response.headers["Content-Type"].startswith("application/problem+json")
    proxy.retarget(original)
    assert (await running.fetch("GET", "/api/v1/applications", token=token)).status == 200


async def test_the_datastore_restarts_during_a_burst_of_submissions_and_none_is_lost_or_doubled(
        settings, backing_urls, clock, tmp_path) -> None:
    """Citizens keep submitting while the datastore stops and starts again (its data on disk). Each client
    retries with its Idempotency-Key, as the mini-programs do, until it is answered 201. Afterwards every
    acknowledged submission is there, once."""
    datastore = EmbeddedMongo(tmp_path / "datastore").start()
    proxy = await FaultProxy(datastore.port).start()
    running = await start_app(settings, proxy.url, backing_urls[1], clock=clock)
    try:
        await running.ctx.redis.flushdb()
        await running.ctx.db.services.insert_one(service_item())
        clients = []
        for _ in range(6):
            token = await new_citizen(running)
            for _ in range(3):
                body = {"service_code": "GA-0001", "form": GOOD_FORM,
                        "materials": await materials_for(running.fetch, token)}
                clients.append((token, body, f"burst-{len(clients)}"))
        acknowledged: dict[str, str] = {}
        answers: list[int] = []
        started = asyncio.Event()

        async def submit_until_answered(token: str, body: dict, key: str) -> None:
            for _ in range(300):
                started.set()
                response = await running.fetch("POST", "/api/v1/applications", json=body, token=token,
                                               headers={"Idempotency-Key": key}, timeout=30)
                answers.append(response.status)
                assert response.status in (201, 409, 503), response.text  # never a 500
                if response.status == 201:
                    acknowledged[key] = response.json()["application_no"]
                    return
                if response.status == 409:
                    assert response.json()["code"] == "idempotency_in_progress", response.text
                await asyncio.sleep(0.2)
            raise AssertionError(f"{key} was never answered")

        async def restart_the_datastore() -> None:
            await started.wait()
            datastore.stop()  # SIGTERM, as an orchestrator's restart does
            await asyncio.sleep(0.5)
            restarted = EmbeddedMongo(tmp_path / "datastore").start()  # the same files, another port
            proxy.retarget(restarted.port)
            restarted_servers.append(restarted)

        restarted_servers: list[EmbeddedMongo] = []
        async def one_citizen(submissions: list) -> None:  # a citizen's submissions follow each other
            for submission in submissions:
                await submit_until_answered(*submission)

        await asyncio.gather(restart_the_datastore(), *(one_citizen(clients[3 * i:3 * i + 3]) for i in range(6)))
        assert restarted_servers, "the datastore was not restarted"
        assert len(acknowledged) == len(clients)
        assert 503 in answers or 409 in answers, "the restart landed after the burst; nothing was tested"
        stored = await running.ctx.db.applications.find({}, {"idempotency_record": 1}).to_list()
        assert sorted(doc["_id"] for doc in stored) == sorted(acknowledged.values())  # each once, none extra
        assert len({doc["idempotency_record"] for doc in stored}) == len(clients)
        assert await running.ctx.db.application_events.count_documents({}) == len(clients)
    finally:
        proxy.target_port = (restarted_servers[-1] if restarted_servers else datastore).port
        await stop_app(running)
        await proxy.stop()
        datastore.stop()
        for server in restarted_servers:
            server.stop()
