"""A worker process killed mid-work (`kill -9`, as the OOM killer does): what it was doing is applied
exactly once after `--workers N` replaces it. The service runs as `python -m server --workers 2` on the
session's datastore and Redis; the test seeds and checks through a context of its own."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.simple_httpclient import HTTPStreamClosedError

from config.settings import Settings
from models import outbox, payments
from models.payments.settlement import EFFECTS_CHECK
from server.context import AppContext
from server.embedded import free_port
from tests.test_lifecycle import _child_pids, _wait_until_serving

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_callbacks import prepare as prepare_payment_callbacks  # noqa: E402 - the same notifications as the bench

DEMO_WECHAT = "wxdemo0000000001"


class Served:
    def __init__(self, process: subprocess.Popen, base_url: str, ctx: AppContext) -> None:
        self.process, self.base_url, self.ctx = process, base_url, ctx
        self.http = AsyncHTTPClient(force_instance=True)

    def workers(self) -> set[int]:
        return {pid for pid, cmd in _child_pids(self.process.pid) if "-m server" in cmd}

    def kill_one_worker(self) -> int:
        victim = min(self.workers())
        os.kill(victim, signal.SIGKILL)
        return victim

    async def replaced(self, victim: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.workers()
            if len(now) == 2 and victim not in now:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"worker {victim} was not replaced")

    async def call(self, method: str, path: str, headers: dict[str, str] | None = None,
                   body: bytes | None = None) -> int:
        request = HTTPRequest(self.base_url + path, method=method, headers=headers, body=body, request_timeout=30)
        try:
            return (await self.http.fetch(request, raise_error=False)).code
        except (OSError, HTTPStreamClosedError):
            return 599  # the worker holding the connection died


async def serve(tmp_path: Path, backing_urls: Any, background_workers: bool) -> Served:
    port, db_name = free_port(), f"t_{uuid.uuid4().hex[:12]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGATE_")}
    env.update({"CITYGATE_PORT": str(port), "CITYGATE_DATA_DIR": str(tmp_path), "CITYGATE_MONGODB_URL": backing_urls[0],
                "CITYGATE_REDIS_URL": backing_urls[1], "CITYGATE_MONGODB_DB": db_name,
                "CITYGATE_BACKGROUND_WORKERS": "true" if background_workers else "false"})
    process = subprocess.Popen([sys.executable, "-m", "server", "--workers", "2"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_until_serving(f"http://127.0.0.1:{port}/readyz", process)
    ctx = AppContext.connect(Settings(mongodb_db=db_name, port=port), backing_urls[0], backing_urls[1])
    return Served(process, f"http://127.0.0.1:{port}", ctx)


async def stop(served: Served) -> str:
    served.process.send_signal(signal.SIGTERM)
    try:
        output, _ = served.process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        served.process.kill()
        output, _ = served.process.communicate()
    served.http.close()
    await served.ctx.mongo.drop_database(served.ctx.settings.mongodb_db)
    await served.ctx.close()
    return output


@pytest.fixture
async def served(tmp_path, backing_urls, request):
    """The service under `--workers 2`; background workers as `@pytest.mark.parametrize` or off."""
    served = await serve(tmp_path, backing_urls, background_workers=getattr(request, "param", False))
    try:
        yield served
    finally:
        await stop(served)


async def test_a_worker_killed_while_applying_payment_callbacks_applies_each_once(served) -> None:
    calls, _ = await prepare_payment_callbacks(served.ctx, 40)
    answers: dict[int, int] = {}
    in_flight = asyncio.Semaphore(16)

    async def notify(index: int) -> None:
        method, path, headers, body = calls[index]
        async with in_flight:
            answers[index] = await served.call(method, path, headers, body)

    burst = [asyncio.ensure_future(notify(i)) for i in range(len(calls))]
    while len(answers) < 8:  # the burst is under way: the other worker's share is being applied
        await asyncio.sleep(0.01)
    victim = served.kill_one_worker()
    await asyncio.gather(*burst)
    await served.replaced(victim)
    # WeChat Pay sends again what was not answered 204; and, as it may, once more what was.
    unanswered = [i for i, status in answers.items() if status != 204]
    for index in unanswered + list(range(len(calls))):
        method, path, headers, body = calls[index]
        assert await served.call(method, path, headers, body) == 204
    db = served.ctx.db
    orders = await db.payment_orders.find({"channel": "wechat"}).to_list()
    assert len(orders) == 40 and {order["status"] for order in orders} == {"paid"}
    # Each order was won once: no order has two "applied" attempts. An order the dead worker won has none
    # (it died before recording its attempt; the later ones found it paid: "duplicate").
    applied = [record["order_no"] for record in
               await db.payment_notifications.find({"outcome": "applied"}, {"order_no": 1}).to_list()]
    assert len(applied) == len(set(applied))
    # The dead worker may also have died between the order and its application: the reconciliation task
    # re-applies the effects of every order won in the last EFFECTS_CHECK (here, as if that time passed).
    later = served.ctx.clock() + EFFECTS_CHECK + datetime.timedelta(seconds=1)
    served.ctx.clock = lambda: later
    await payments.reconcile_due(served.ctx)
    for order in orders:
        application = await db.applications.find_one({"_id": order["application_no"]})
        assert application["payment"]["status"] == "paid" and application["payment"]["order_no"] == order["_id"]
    notices = await db.outbox.find({}, {"_id": 1, "citizen_id": 1}).to_list()
    assert sorted(notice["citizen_id"] for notice in notices) == sorted(order["citizen_id"] for order in orders)


@pytest.mark.parametrize("served", [True], indirect=True, ids=["background_workers"])
async def test_a_worker_killed_while_sending_notifications_sends_each_once(served) -> None:
    ctx = served.ctx
    count = 12
    # Each send takes a second at WeChat, so a worker is in the middle of one when it dies.
    await served.call("POST", "/sandbox/wechat/test/fault", {"Content-Type": "application/json"},
                      b'{"app_id": "%s", "api": "subscribe_send", "delay_ms": 1000, "times": 1000}' % DEMO_WECHAT.encode())
    for number in range(count):
        citizen = await ctx.db.citizens.insert_one({
            "profile": {}, "identities": {}, "identity_keys": [], "phone": None, "realname": None,
            "status": "active", "created_at": ctx.clock(),
            "last_channel": {"kind": "wechat", "app_id": DEMO_WECHAT, "openid": f"o-kill-{number:02d}"}})
        await outbox.enqueue(ctx, citizen_id=str(citizen.inserted_id), event="application.accepted",
                             dedupe_key=f"kill-test:{number}", template="application_status",
                             data={"application_no": f"330100-KILL-{number}", "service_name": "测试事项",
                                   "status": "accepted", "status_label": "已受理", "note": "", "at": "2026-01-05 10:00"})
    deadline = time.monotonic() + 30
    while not await ctx.db.outbox.count_documents({"status": "sending"}):
        assert time.monotonic() < deadline, "no worker started sending"
        await asyncio.sleep(0.1)
    victim = served.kill_one_worker()
    await served.replaced(victim)
    # The dead worker's lease runs out (30 s), then a live worker takes the message over.
    deadline = time.monotonic() + 150
    while await ctx.db.outbox.count_documents({"status": {"$in": ["pending", "retry", "sending"]}}):
        assert time.monotonic() < deadline, "messages still unsent"
        await asyncio.sleep(0.5)
    records = await ctx.db.outbox.find({}).to_list()
    assert {record["status"] for record in records} == {"sent"}, records
    request = HTTPRequest(f"{served.base_url}/sandbox/wechat/test/messages?app_id={DEMO_WECHAT}")
    messages = json.loads((await served.http.fetch(request)).body)["items"]
    openids = sorted(message["recipient"] for message in messages)
    assert openids == [f"o-kill-{number:02d}" for number in range(count)]  # each once, none lost
