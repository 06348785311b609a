"""One citizen's whole journey over real HTTP, through every feature as `make run` has them.

The feature tests prove each part; this one proves the parts fit: a login from the WeChat
mini-program is the identity every later step uses, and what the citizen gave once is offered back.
"""

from __future__ import annotations

import datetime

import pytest

from models import outbox, workdays
from tests.identity_support import WECHAT_APP, phone_code, wechat_login
from tests.payments_support import sandbox_pay
from tests.test_applications import PDF, multipart

ID_NUMBER = "11010519491231002X"  # GB 11643 sample number: valid check digit


async def upload(fetch, token: str, material: str) -> str:  # noqa: ANN001
    body, headers = multipart(PDF, f"{material}.pdf")
    response = await fetch("POST", f"/api/v1/files?service_code=JJ-0001&material={material}", body=body,
                           token=token, headers=headers)
    assert response.status == 201, response.text
    return response.json()["file_id"]


@pytest.mark.todays
async def test_renewing_a_driving_licence_from_wechat(demo_app, fetch, operator_token, clock) -> None:
    ctx = demo_app.ctx
    # Whatever day it is (the clock runs on from each of the todays): JJ-0001 promises same-day
    # handling (0 working days), so it is due on the first working day from today, and not late.
    due = workdays.next_workday(clock.today, include_today=True)  # every today starts before 17:30
    # 1. One tap in the mini-program logs the citizen in; phone and real name are bound once.
    session = await wechat_login(fetch, "o-story-0001")
    token = session["access_token"]
    bound = await fetch("POST", "/api/v1/me/phone", json={"code": await phone_code(fetch, "13912345678")}, token=token)
    assert bound.status == 200, bound.text
    named = await fetch("POST", "/api/v1/me/realname", json={"name": "王小明", "id_number": ID_NUMBER}, token=token)
    assert named.status == 200, named.text

    # 2. Everyday words find the service.
    found = (await fetch("GET", "/api/v1/services?q=换驾照")).json()
    assert found["items"][0]["code"] == "JJ-0001"
    guide = (await fetch("GET", "/api/v1/services/JJ-0001")).json()
    assert guide["code"] == "JJ-0001"

    # 3. The form comes back filled with what the citizen already gave, personal numbers masked.
    form = (await fetch("GET", "/api/v1/services/JJ-0001/form", token=token)).json()
    values = form["values"]
    assert values["applicant_name"] == "王小明"
    assert values["id_number"] != ID_NUMBER and values["id_number"].endswith("002X")
    assert values["phone"] != "13912345678" and values["phone"].endswith("5678")

    # 4. Upload materials and submit (a retried submit returns the first result).
    materials = {key: [await upload(fetch, token, key)] for key in ("id_card", "driving_licence", "health_certificate")}
    body = {"service_code": "JJ-0001", "materials": materials,
            "form": {**values, "licence_no": "330100123456", "expiry_date": str(clock.today + datetime.timedelta(days=32)), "delivery": "post",
                     "post_address": "示范市西湖区文三路 1 号"}}
    submitted = await fetch("POST", "/api/v1/applications", json=body, token=token, headers={"Idempotency-Key": "s-1"})
    assert submitted.status == 201, submitted.text
    again = await fetch("POST", "/api/v1/applications", json=body, token=token, headers={"Idempotency-Key": "s-1"})
    assert again.json()["application_no"] == submitted.json()["application_no"]
    no, query_code = submitted.json()["application_no"], submitted.json()["query_code"]
    stored = await ctx.db.applications.find_one({"_id": no})
    assert stored["form"]["id_number"] == ID_NUMBER  # the masked value was replaced by the verified number

    # 5. The department accepts it; the citizen is told through WeChat, once.
    accepted = await fetch("POST", f"/admin/v1/applications/{no}/actions", json={"action": "accept"}, token=operator_token)
    assert accepted.status == 200, accepted.text
    await outbox.deliver_due(ctx)
    received = (await fetch("GET", "/sandbox/wechat/test/messages?touser=o-story-0001")).json()
    sent = await ctx.db.outbox.count_documents({"citizen_id": session["citizen"]["id"], "status": "sent"})
    assert received["total"] == sent == 2  # "submitted" and "accepted", one message each
    assert all(message["duplicates"] == 0 for message in received["items"])
    await outbox.deliver_due(ctx)  # nothing more to send
    assert (await fetch("GET", "/sandbox/wechat/test/messages?touser=o-story-0001")).json()["total"] == 2

    # 6. Anyone with the number and query code can follow it, without seeing personal data.
    progress = await fetch("GET", f"/api/v1/progress?application_no={no}&query_code={query_code}")
    assert progress.status == 200 and progress.json()["status"] == "accepted"
    assert "王小明" not in progress.text and "5678" not in progress.text

    # 7. The fee is paid through WeChat Pay and applied once.
    order = await fetch("POST", f"/api/v1/applications/{no}/payments", json={"channel": "wechat", "app_id": WECHAT_APP},
                        token=token)
    assert order.status == 201, order.text
    assert order.json()["amount_fen"] == 1000
    paid = await sandbox_pay(fetch, "wechat", order.json()["order_no"])
    assert paid["notify_status"] == 204, paid
    mine = (await fetch("GET", f"/api/v1/applications/{no}", token=token)).json()
    assert mine["status"] == "accepted" and mine["payment"]["status"] == "paid"
    assert mine["deadline"]["due_date"] == due.isoformat() and mine["deadline"]["overdue"] is False

    # 8. Approved and completed; the citizen rates the service once.
    for action in ({"action": "approve"}, {"action": "complete", "result": {"note": "新证已寄出"}}):
        done = await fetch("POST", f"/admin/v1/applications/{no}/actions", json=action, token=operator_token)
        assert done.status == 200, done.text
    rated = await fetch("POST", f"/api/v1/applications/{no}/evaluation", json={"grade": 5, "comment": "很方便"},
                        token=token)
    assert rated.status == 201, rated.text
    twice = await fetch("POST", f"/api/v1/applications/{no}/evaluation", json={"grade": 4}, token=token)
    assert twice.status == 409

    # 9. One citizen throughout: the profile lists the one WeChat identity and masked numbers only.
    me = await fetch("GET", "/api/v1/me", token=token)
    assert ID_NUMBER not in me.text and "13912345678" not in me.text
