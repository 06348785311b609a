"""Operators act only within their scope (region and department): the cross-department holes of issue 15.

A finance operator of one department once read and refunded another department's fee order, and a
catalogue operator of one department changed another department's published fee, which new fee
orders then charged.
"""

from __future__ import annotations

from tests.payments_support import FEE_FEN, order_doc, pending_order, sandbox_pay


async def _paid_order(app, fetch) -> dict:  # noqa: ANN001 - a paid order of department gongan in 330100
    order = await pending_order(app, fetch, "wechat")
    await sandbox_pay(fetch, "wechat", order["order_no"])
    return order


async def test_finance_of_another_department_cannot_see_or_refund_an_order(demo_app, fetch, make_operator) -> None:
    order = await _paid_order(demo_app, fetch)
    no = order["order_no"]
    outsider = await make_operator("cashier-mz", ["finance"], "minzheng", "330100")
    other_city = await make_operator("cashier-330200", ["finance"], "", "330200")
    insider = await make_operator("cashier-ga", ["finance"], "gongan", "330100")
    for token in (outsider, other_city):
        assert (await fetch("GET", f"/admin/v1/payments/{no}", token=token)).status == 403
        refund = await fetch("POST", f"/admin/v1/payments/{no}/refunds", json={"reason": "越权退款"}, token=token)
        assert refund.status == 403 and refund.json()["code"] == "out_of_scope", refund.text
        listed = (await fetch("GET", "/admin/v1/payments", token=token)).json()
        assert no not in {item["order_no"] for item in listed["items"]} and listed["total"] == 0
    stored = await order_doc(demo_app.ctx, no)
    assert (stored["refunded_fen"], stored["refundable_fen"]) == (0, FEE_FEN)  # nothing was refunded

    assert (await fetch("GET", f"/admin/v1/payments/{no}", token=insider)).status == 200
    assert no in {item["order_no"] for item in (await fetch("GET", "/admin/v1/payments", token=insider)).json()["items"]}
    refund = await fetch("POST", f"/admin/v1/payments/{no}/refunds", json={"reason": "多收费用退还"}, token=insider)
    assert refund.status == 201, refund.text


async def test_operator_of_another_department_cannot_change_a_published_item(demo_app, fetch, make_operator) -> None:
    code = "GA-0001"  # the demo catalogue's passport item, department gongan, region 330100
    before = (await fetch("GET", f"/api/v1/services/{code}")).json()
    outsider = await make_operator("editor-mz", ["department_operator"], "minzheng", "330100")
    other_city = await make_operator("editor-330200", ["department_operator"], "gongan", "330200")
    for token in (outsider, other_city):
        patched = await fetch("PATCH", f"/admin/v1/services/{code}", token=token,
                              json={"guide": {"fee": {"free": False, "amount_fen": 99900, "basis": {"zh-CN": "《国家发展改革委 财政部关于降低部分行政事业性收费标准的通知》（发改价格〔2019〕914号）"}}}})
        assert patched.status == 403 and patched.json()["code"] == "out_of_scope", patched.text
        assert (await fetch("GET", f"/admin/v1/services/{code}", token=token)).status == 403
        assert (await fetch("POST", f"/admin/v1/services/{code}/unpublish", token=token)).status == 403
        assert (await fetch("DELETE", f"/admin/v1/services/{code}", token=token)).status == 403
        listed = (await fetch("GET", "/admin/v1/services?page_size=100", token=token)).json()
        assert code not in {item["code"] for item in listed["items"]}
        created = await fetch("POST", "/admin/v1/services", token=token,
                              json={"code": "GA-7777", "name": {"zh-CN": "越权新建"}, "department": "gongan",
                                    "region_code": "330100"})
        assert created.status == 403, created.text
    after = (await fetch("GET", f"/api/v1/services/{code}")).json()
    assert after["guide"]["fee"] == before["guide"]["fee"]

    insider = await make_operator("editor-ga", ["department_operator"], "gongan", "330100")
    assert (await fetch("GET", f"/admin/v1/services/{code}", token=insider)).status == 200
    assert code in {item["code"] for item in
                    (await fetch("GET", "/admin/v1/services?page_size=100", token=insider)).json()["items"]}


async def test_halls_are_seen_and_run_only_within_the_operators_region(demo_app, fetch, make_operator) -> None:
    city = await make_operator("city-admin", ["region_admin"], "", "330100")
    elsewhere = await make_operator("other-admin", ["region_admin"], "", "330200")
    halls = (await fetch("GET", "/admin/v1/halls", token=city)).json()["items"]
    assert halls and all(hall["region_code"].startswith("3301") for hall in halls)
    assert (await fetch("GET", "/admin/v1/halls", token=elsewhere)).json()["total"] == 0
    hall_id = halls[0]["id"]
    assert (await fetch("GET", f"/admin/v1/halls/{hall_id}", token=elsewhere)).status == 403
    assert (await fetch("PUT", f"/admin/v1/halls/{hall_id}/schedules", token=elsewhere,
                        json={"default": []})).status == 403
    assert (await fetch("POST", f"/admin/v1/halls/{hall_id}/windows/1/call-next", token=elsewhere)).status == 403
    moved = await fetch("PATCH", f"/admin/v1/halls/{hall_id}", token=city, json={"region_code": "330200"})
    assert moved.status == 403  # nor may a city admin hand its hall to another region


async def test_applications_are_seen_only_within_department_and_region(demo_app, fetch, make_operator) -> None:
    from tests.payments_support import fee_application, wechat_payer

    citizen_id, _ = await wechat_payer(fetch)
    no = await fee_application(demo_app.ctx, citizen_id)  # gongan, 330100
    same = await make_operator("ga-330100", ["department_operator"], "gongan", "330100")
    other_region = await make_operator("ga-330200", ["department_operator"], "gongan", "330200")
    other_department = await make_operator("mz-330100", ["department_operator"], "minzheng", "330100")
    assert (await fetch("GET", f"/admin/v1/applications/{no}", token=same)).status == 200
    for token in (other_region, other_department):
        assert (await fetch("GET", f"/admin/v1/applications/{no}", token=token)).status == 404
        assert (await fetch("GET", "/admin/v1/applications", token=token)).json()["total"] == 0
        acted = await fetch("POST", f"/admin/v1/applications/{no}/actions", token=token, json={"action": "accept"})
        assert acted.status == 404
