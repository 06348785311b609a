"""The operator console at /console/ in headless chromium: the operators' end-to-end flows.

Each test logs in through the page as an operator of one role, works through the console with the
mouse and keyboard as a clerk would, and checks the outcome over the API (or as the citizen sees it).
Every main page is saved under test-artifacts/screenshots/console/ and checked with axe-core.
"""
from __future__ import annotations

import asyncio
import copy
import datetime
import pathlib
import re

import pyotp
import pytest
from playwright.async_api import Page, expect

from models import catalogue
from tests.browser_support import AXE_SCRIPT, DESK, TABLET, save_screenshot, serious_violations
from tests.clock_support import at
from tests.payments_support import pending_order, sandbox_pay
from tests.test_applications import PDF, service_item, submit, upload

SUITE = "console"
WAIT = 30_000  # generous for a loaded machine; every wait below ends on an event, not a timer


async def open_console(browser_page, app, **options) -> Page:  # noqa: ANN001
    page = await browser_page(**{**DESK, **options})
    await page.goto(app.base_url + "/console/")
    await expect(page.get_by_label("用户名")).to_be_focused(timeout=WAIT)
    return page


async def log_in(page: Page, username: str, password: str) -> None:
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码", exact=True).fill(password)
    await page.get_by_role("button", name="登录", exact=True).click()
    await expect(page.get_by_role("button", name="退出登录")).to_be_visible(timeout=WAIT)


async def check(page: Page, name: str) -> None:
    """Screenshot of the page as it is, then axe-core: no serious or critical violations."""
    await expect(page.locator("#progress")).not_to_have_class(re.compile(r"\bon\b"), timeout=WAIT)
    await save_screenshot(page, SUITE, name)
    # Injected through the DevTools protocol: the page's own CSP allows no inline script tag.
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE_SCRIPT)
    assert await serious_violations(page) == [], name
    # No script error and no CSP refusal so far (refused API calls are answered on the page itself).
    assert [e for e in page.console_errors if "Failed to load resource" not in e] == [], name


async def confirm(page: Page) -> None:
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible(timeout=WAIT)
    await dialog.get_by_role("button", name="确定").click()
    await expect(dialog).to_be_hidden(timeout=WAIT)


# ---- log in, and every main page ------------------------------------------------------------------

@pytest.mark.clock(2026, 3, 2, 9, 0)
async def test_login_with_a_second_factor_and_every_main_page(demo_app, browser_page, fetch, make_operator, clock) -> None:
    page_response = await fetch("GET", "/console/")
    csp = page_response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert (await fetch("GET", "/console/assets/app.js")).headers["Content-Type"].startswith("text/javascript")
    assert (await fetch("GET", "/console/assets/..%2Fapp.js")).status == 404

    # An auditor with TOTP: the page asks for the code only once the password is right.
    token = await make_operator("auditor-1", ["auditor"], "", "330000")
    secret = (await fetch("POST", "/admin/v1/me/totp", token=token)).json()["secret"]
    assert (await fetch("POST", "/admin/v1/me/totp/confirm", token=token,
                        json={"code": pyotp.TOTP(secret).at(clock())})).status == 200
    clock.advance(seconds=30)
    page = await open_console(browser_page, demo_app)
    await check(page, "login")
    await page.get_by_label("用户名").fill("auditor-1")
    await page.get_by_label("密码", exact=True).fill("pw-auditor-1")
    await page.get_by_role("button", name="登录", exact=True).click()
    code_field = page.get_by_label("动态验证码或恢复码")
    await expect(code_field).to_be_focused(timeout=WAIT)
    await code_field.fill(pyotp.TOTP(secret).at(clock()))
    await code_field.press("Enter")  # the keyboard alone logs in
    nav = page.get_by_role("navigation", name="主导航")
    await expect(nav.get_by_role("link", name="审计日志")).to_be_visible(timeout=WAIT)
    # An auditor reads everything and changes nothing: no write control anywhere it goes.
    await nav.get_by_role("link", name="事项目录").click()
    await page.get_by_role("link", name="GA-0001").click()
    await expect(page.get_by_role("button", name="预览")).to_be_visible(timeout=WAIT)
    assert await page.get_by_role("button", name="发布").count() == 0
    assert await page.get_by_role("button", name="下线").count() == 0
    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_label("用户名")).to_be_visible(timeout=WAIT)

    # The demo administrator sees every page.
    await log_in(page, "admin", "admin-change-me")
    pages = {"queue": "办件队列", "consultations": "咨询投诉", "catalogue": "事项目录", "halls": "办事大厅",
             "payments": "缴费", "channels": "渠道", "dashboard": "考核看板", "feedback": "纠错与差评",
             "operators": "人员与角色", "audit": "审计日志"}
    for route, title in pages.items():
        await nav.get_by_role("link", name=title).click()
        await expect(page.get_by_role("heading", level=1, name=title)).to_be_visible(timeout=WAIT)
        if route == "operators":  # administrators manage accounts from the list
            await expect(page.get_by_role("button", name="停用 auditor-1")).to_be_visible(timeout=WAIT)
        if route == "dashboard":  # the five dimensions and the departments, as inline SVG
            await expect(page.get_by_role("img", name=re.compile("各维度得分"))).to_be_visible(timeout=WAIT)
            await expect(page.get_by_role("img", name=re.compile("各部门得分"))).to_be_visible(timeout=WAIT)
        await check(page, route)
    # The audit log (the last page) exports what its filters select as CSV.
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="导出 CSV").click()
    download = await downloading.value
    assert download.suggested_filename == "audit.csv"
    exported = pathlib.Path(await download.path()).read_text(encoding="utf-8-sig")
    assert "auditor-1" in exported and "," in exported.splitlines()[0]
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="事项目录").click()
    await page.get_by_role("link", name="GA-0001").click()
    await expect(page.get_by_role("tab", name="中文")).to_have_attribute("aria-selected", "true", timeout=WAIT)
    await check(page, "catalogue-item")
    await page.goto(demo_app.base_url + "/console/#/halls/hall-demo-exit-entry")
    await expect(page.get_by_role("table", name=re.compile("每周时段与名额"))).to_be_visible(timeout=WAIT)
    await check(page, "hall")
    await page.goto(demo_app.base_url + "/console/#/channels/wxdemo0000000001")
    await expect(page.get_by_role("heading", name="密钥（只写，仅显示指纹）")).to_be_visible(timeout=WAIT)
    await check(page, "channel")

    # English on request: the console's words and the API's answers.
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("link", name="Applications")).to_be_visible(timeout=WAIT)
    assert await page.evaluate("document.documentElement.lang") == "en"
    await expect(page.get_by_role("heading", name="Secrets (write-only, fingerprints shown)")).to_be_visible(timeout=WAIT)
    await check(page, "channel-en")
    # On a tablet the same console still works.
    tablet = await browser_page(**TABLET)
    await tablet.goto(demo_app.base_url + "/console/")
    await log_in(tablet, "admin", "admin-change-me")
    await expect(tablet.get_by_role("heading", level=1, name="办件队列")).to_be_visible(timeout=WAIT)
    await save_screenshot(tablet, SUITE, "queue-tablet")
    # No script error, no CSP refusal: only the refused first login (401) the page answered itself.
    assert [e for e in page.console_errors + tablet.console_errors if "Failed to load resource" not in e] == []


# ---- catalogue: fix an item until it publishes ----------------------------------------------------

async def test_fix_an_incomplete_item_until_it_publishes_and_citizens_find_it(demo_app, browser_page, fetch,
                                                                               make_operator) -> None:
    complete = copy.deepcopy(next(i for i in catalogue.read_demo()["items"] if i["code"] == "GA-0008"))
    guide = complete["guide"]
    legal_basis, conditions = guide["legal_basis"]["zh-CN"], guide["conditions"]["zh-CN"]
    draft_guide = {**guide, "legal_basis": {"zh-CN": "相关法规"}}
    del draft_guide["conditions"], draft_guide["consultation_phone"]
    token = await make_operator("ga-editor", ["department_operator"], "gongan")
    created = await fetch("POST", "/admin/v1/services", token=token, json={
        "code": "GA-9101", "name": {"zh-CN": "临时居民身份证加急核发"}, "department": "gongan", "region_code": "330100",
        "audience": ["personal"], "themes": ["household"], "handling_depth": "at_most_one_visit", "guide": draft_guide,
        "aliases": ["急办临时身份证"]})
    assert created.status == 201, created.text

    page = await open_console(browser_page, demo_app)
    await log_in(page, "ga-editor", "pw-ga-editor")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="事项目录").click()
    # A new item starts as a draft of the clerk's department, every element of its guide still to write.
    creating = page.get_by_role("form", name="新建事项（草稿）")
    await creating.get_by_label("编码").fill("GA-9102")
    await creating.get_by_label("名称").fill("居民身份证异地换领")
    await creating.get_by_role("button", name="创建").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("居民身份证异地换领", timeout=WAIT)
    await expect(page.get_by_role("status").filter(has_text="发布前还有")).to_be_visible(timeout=WAIT)
    await page.get_by_role("link", name="← 事项目录").click()
    await page.get_by_label("状态").select_option("draft")
    await page.get_by_role("button", name="筛选").click()
    await page.get_by_role("link", name="GA-9101").click()
    # The gate's findings sit beside their fields.
    conditions_field = page.get_by_label("受理条件", exact=True)
    await expect(conditions_field).to_have_attribute("aria-invalid", "true", timeout=WAIT)
    await expect(page.locator('li[data-field="guide.conditions"]')).to_be_visible()
    await expect(page.locator('li[data-field="guide.legal_basis"][data-code="vague_legal_basis"]')).to_be_visible()
    await expect(page.locator('li[data-field="guide.consultation_phone"]')).to_be_visible()
    await check(page, "catalogue-item-incomplete")

    # Publishing now is refused, and says why (the same three findings).
    await page.get_by_role("button", name="发布").click()
    await expect(page.get_by_role("alert")).to_contain_text("办事指南", timeout=WAIT)
    await conditions_field.fill(conditions)
    await page.get_by_label("设定依据", exact=True).fill(legal_basis)
    await page.get_by_label("咨询电话").fill("0571-12345")
    await page.get_by_role("tab", name="English").click()
    await page.get_by_label("事项名称 (English)").fill("Urgent temporary resident ID card")
    await page.get_by_role("tab", name="中文").click()
    await page.get_by_role("button", name="预览").click()
    await expect(page.get_by_role("region", name="预览")).to_contain_text(conditions[:10], timeout=WAIT)
    await page.get_by_role("button", name="发布").click()
    await confirm(page)
    await expect(page.get_by_role("heading", level=1)).to_contain_text("临时居民身份证加急核发", timeout=WAIT)
    await expect(page.locator(".page-head .badge")).to_have_text("已发布", timeout=WAIT)
    await check(page, "catalogue-item-published")

    found = (await fetch("GET", "/api/v1/services?q=急办临时身份证")).json()["items"]
    assert found and found[0]["code"] == "GA-9101"
    item = (await fetch("GET", "/api/v1/services/GA-9101", headers={"Accept-Language": "en"})).json()
    assert item["name"] == "Urgent temporary resident ID card"


# ---- applications: submitted → supplement → completed; departments see only their own --------------

async def test_an_application_from_submitted_to_completed_with_a_supplement(app, browser_page, fetch, citizen,
                                                                           make_operator, clock) -> None:
    document = service_item()
    await app.ctx.db.services.replace_one({"code": document["code"]}, document, upsert=True)
    _, citizen_token = citizen
    submitted = await submit(fetch, citizen_token)
    assert submitted.status == 201, submitted.text
    no = submitted.json()["application_no"]
    clerk_token = await make_operator("ga-clerk", ["department_operator"], "gongan")
    await make_operator("mz-clerk", ["department_operator"], "minzheng")

    page = await open_console(browser_page, app)
    await log_in(page, "ga-clerk", "pw-ga-clerk")
    await expect(page.get_by_role("heading", level=1, name="办件队列")).to_be_visible(timeout=WAIT)
    row = page.get_by_role("row").filter(has_text=no)
    await expect(row).to_contain_text("已提交", timeout=WAIT)
    await row.get_by_role("link", name=no).click()
    actions = page.get_by_role("region", name="操作")

    async def act(action: str, status: str, fill=None) -> None:  # noqa: ANN001
        await actions.get_by_role("button", name=action).click()
        form = page.get_by_role("form", name=action)
        if fill:
            await fill(form)
        await form.get_by_role("button", name=action).click()
        await confirm(page)
        await expect(page.locator(".page-head .badge").first).to_have_text(status, timeout=WAIT)

    async def note(text: str):  # noqa: ANN202
        async def fill(form) -> None:  # noqa: ANN001
            await form.get_by_label("备注").fill(text)
        return fill

    await act("受理", "已受理", await note("材料齐全，予以受理"))
    async with page.expect_popup() as opening:  # a material opens from the token-authorised download
        await page.get_by_role("button", name="查看文件 1 居民身份证").click()
    material = await opening.value
    await material.wait_for_url(re.compile("^blob:"), timeout=WAIT)
    await material.close()
    await expect(page.get_by_text("剩余 5 个工作日")).to_be_visible(timeout=WAIT)

    async def supplement(form) -> None:  # noqa: ANN001
        await form.get_by_role("checkbox", name="户口簿").check()
        await form.get_by_label("备注").fill("请补充户口簿")
    await check(page, "application")
    await act("要求补正", "待补正材料", supplement)
    await expect(page.get_by_text("补正中，计时暂停")).to_be_visible()
    await expect(page.get_by_role("heading", name="需补正的材料")).to_be_visible()

    household = (await upload(fetch, citizen_token, PDF, "hukou.pdf", "household")).json()["file_id"]
    resubmitted = await fetch("POST", f"/api/v1/applications/{no}/supplement", token=citizen_token,
                              json={"materials": {"household": [household]}, "note": "已补充"})
    assert resubmitted.status == 200, resubmitted.text
    await page.reload()
    await expect(page.locator(".page-head .badge").first).to_have_text("已补正", timeout=WAIT)
    await act("审批通过", "审批通过", await note("符合条件"))

    async def result(form) -> None:  # noqa: ANN001
        await form.get_by_label("办理结果（如证件号）").fill("E12345678")
    await act("办结", "已办结", result)
    timeline = page.get_by_role("region", name="办理进程").or_(page.locator("ol.timeline"))
    await expect(page.locator("ol.timeline li")).to_have_count(6, timeout=WAIT)
    assert await page.get_by_role("region", name="操作").get_by_role("button").count() == 0
    assert timeline is not None
    final = (await fetch("GET", f"/api/v1/applications/{no}", token=citizen_token)).json()
    assert [e["action"] for e in final["timeline"]] == [
        "submit", "accept", "request_supplement", "supplement", "approve", "complete"]
    assert final["timeline"][2]["missing_materials"] == ["household"]

    # A month on, an application accepted meanwhile and never finished heads the queue, overdue.
    late_no = (await submit(fetch, citizen_token)).json()["application_no"]
    accepted = await fetch("POST", f"/admin/v1/applications/{late_no}/actions", token=clerk_token, json={"action": "accept"})
    assert accepted.status == 200, accepted.text
    clock.advance(days=30)
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="办件队列").click()
    overdue_table = page.get_by_role("table", name=re.compile("已超期 1 件"))
    await expect(overdue_table).to_contain_text(late_no, timeout=WAIT)
    await expect(overdue_table.get_by_role("row").filter(has_text=late_no)).to_contain_text("已超期")
    assert await overdue_table.get_by_text(no).count() == 0
    await check(page, "queue-overdue")

    # Another department's clerk: an empty queue, and the application itself is not theirs to open.
    other = await open_console(browser_page, app)
    await log_in(other, "mz-clerk", "pw-mz-clerk")
    await expect(other.get_by_role("heading", level=1, name="办件队列")).to_be_visible(timeout=WAIT)
    await expect(other.get_by_role("table")).to_contain_text("暂无数据", timeout=WAIT)
    await other.goto(app.base_url + f"/console/#/queue/{no}")
    await expect(other.get_by_role("alert")).to_be_visible(timeout=WAIT)
    assert await other.get_by_text("材料齐全，予以受理").count() == 0
    # and no page beyond their roles is offered
    nav = other.get_by_role("navigation", name="主导航")
    assert await nav.get_by_role("link", name="缴费").count() == 0
    assert await nav.get_by_role("link", name="人员与角色").count() == 0


# ---- consultations: answered before the deadline --------------------------------------------------

async def test_a_consultation_answered_before_its_deadline(app, browser_page, fetch, citizen, make_operator) -> None:
    await app.ctx.db.services.insert_one({"code": "GA-0001", "name": {"zh-CN": "普通护照签发"}, "department": "gongan",
                                          "status": "published", "guide": {"materials": []}})
    _, citizen_token = citizen
    asked = await fetch("POST", "/api/v1/consultations", token=citizen_token, json={
        "service_code": "GA-0001", "kind": "consultation", "subject": "护照办理需要多久？",
        "content": "请问办理普通护照需要几个工作日？"})
    assert asked.status == 201, asked.text
    await make_operator("ga-answerer", ["department_operator"], "gongan")

    page = await open_console(browser_page, app)
    await log_in(page, "ga-answerer", "pw-ga-answerer")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="咨询投诉").click()
    await page.get_by_label("仅看未答复").check()
    await page.get_by_role("button", name="筛选").click()
    row = page.get_by_role("row").filter(has_text="护照办理需要多久？")
    await expect(row).to_contain_text("前答复", timeout=WAIT)
    await row.get_by_role("link").click()
    await expect(page.get_by_text("请问办理普通护照需要几个工作日？")).to_be_visible(timeout=WAIT)
    await page.get_by_label("答复内容").fill("普通护照自受理之日起7个工作日内办结，可在线查询进度。")
    await check(page, "consultation")
    await page.get_by_role("button", name="发送答复").click()
    await expect(page.get_by_text("按时答复")).to_be_visible(timeout=WAIT)
    await expect(page.locator("ol.thread li")).to_have_count(2)

    mine = (await fetch("GET", f"/api/v1/consultations/{asked.json()['id']}", token=citizen_token)).json()
    assert mine["status"] == "answered"
    assert mine["messages"][-1]["content"].startswith("普通护照自受理之日起")
    answered = (await fetch("GET", f"/admin/v1/consultations/{asked.json()['id']}",
                            token=await make_operator("ga-reader", ["auditor"], "gongan"))).json()
    assert answered["first_answered_at"] <= answered["due_at"] and answered["answered_late"] is False

    # An error report on the same item: confirmed, then fixed with an answer to the reporter.
    reported = await fetch("POST", "/api/v1/feedback", json={
        "service_code": "GA-0001", "element": "guide.fee", "description": "指南写收费 120 元，窗口实际收 160 元。"})
    assert reported.status == 201, reported.text
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="纠错与差评").click()
    report_row = page.get_by_role("row").filter(has_text="窗口实际收 160 元")
    await expect(report_row).to_contain_text("待处理", timeout=WAIT)
    await report_row.get_by_role("button", name="提交处理").click()
    await expect(report_row).to_contain_text("已确认", timeout=WAIT)
    await report_row.get_by_label("答复纠错人").fill("收费标准已更正为 160 元，感谢指正。")
    await report_row.get_by_role("button", name="提交处理").click()
    await expect(report_row).to_contain_text("已修正", timeout=WAIT)
    await check(page, "feedback")
    seen = (await fetch("GET", f"/api/v1/feedback/{reported.json()['id']}?query_code={reported.json()['query_code']}")).json()
    assert (seen["status"], seen["answer"]) == ("fixed", "收费标准已更正为 160 元，感谢指正。")
    await page.go_back()  # to the consultation

    # Closed once settled: no reply box any more.
    await page.get_by_role("button", name="关闭", exact=True).click()
    await confirm(page)
    await expect(page.locator(".page-head")).to_contain_text("已关闭", timeout=WAIT)
    assert await page.get_by_label("答复内容").count() == 0


# ---- halls: a citizen's booking called at the window ----------------------------------------------

MONDAY = datetime.date(2025, 9, 29)


@pytest.mark.clock(2025, 9, 26, 10, 0)
async def test_a_booked_citizen_is_called_at_the_window(app, browser_page, fetch, operator_token, make_citizen,
                                                         make_operator, clock) -> None:
    hall = await fetch("POST", "/admin/v1/halls", token=operator_token, json={
        "name": {"zh-CN": "测试政务服务大厅", "en": "Test Service Hall"}, "address": "测试路 1 号", "hours": "工作日 8:30-17:00",
        "windows": [{"number": "1", "service_codes": ["GA-0001"]}, {"number": "2", "service_codes": ["JJ-0001"]}],
        "schedule": {"default": [{"start": "08:30", "end": "09:00", "quota": 6}, {"start": "09:00", "end": "09:30", "quota": 6}]}})
    assert hall.status == 201, hall.text
    hall_id = hall.json()["id"]
    _, citizen_token = await make_citizen(name="预约市民")
    booked = await fetch("POST", "/api/v1/appointments", token=citizen_token, json={
        "service_code": "GA-0001", "hall_id": hall_id, "date": MONDAY.isoformat(), "slot_id": "0830"})
    assert booked.status == 201, booked.text
    clock.now = at(MONDAY, "08:20")
    checked_in = await fetch("POST", f"/api/v1/appointments/{booked.json()['id']}/check-in", token=citizen_token)
    assert checked_in.status == 200, checked_in.text
    number = checked_in.json()["queue_number"]
    await make_operator("window-clerk", ["hall_staff"])

    # The hall's administrator sets quotas on the week calendar and closes one day.
    admin = await open_console(browser_page, app)
    await log_in(admin, "test-admin", "test-password-1")
    await admin.goto(app.base_url + f"/console/#/halls/{hall_id}")
    await admin.get_by_label("周三 09:00–09:30 名额").fill("2")
    await admin.get_by_role("button", name="保存每周安排").click()
    await expect(admin.get_by_role("status").filter(has_text="已保存")).to_be_visible(timeout=WAIT)
    await admin.get_by_label("日期").nth(1).fill("2025-10-09")
    await admin.get_by_label("备注").fill("系统升级，暂停预约")
    await admin.get_by_role("button", name="保存单日调整").click()
    await expect(admin.get_by_role("row").filter(has_text="2025-10-09")).to_contain_text("当天不开放", timeout=WAIT)
    await check(admin, "hall-schedule")
    schedule = (await fetch("GET", f"/admin/v1/halls/{hall_id}/schedules", token=operator_token)).json()
    assert [(s["id"], s["quota"]) for s in schedule["weekdays"]["3"]] == [("0830", 6), ("0900", 2)]
    assert [e["date"] for e in schedule["exceptions"]] == ["2025-10-09"]

    page = await open_console(browser_page, app)
    await log_in(page, "window-clerk", "pw-window-clerk")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="办事大厅").click()
    await page.get_by_role("link", name="测试政务服务大厅").click()
    await page.get_by_label("日期").first.fill(MONDAY.isoformat())
    await page.get_by_label("日期").first.dispatch_event("change")
    await expect(page.get_by_role("row").filter(has_text=number)).to_contain_text("已签到", timeout=WAIT)
    # Hall staff call numbers; they do not set schedules (no quota inputs, no save).
    assert await page.get_by_role("button", name="保存每周安排").count() == 0
    await check(page, "hall-queue")
    await page.get_by_role("button", name="1 号窗口叫号").click()
    await expect(page.get_by_role("status").filter(has_text=number)).to_contain_text("请 " + number + " 号到 1 号窗口办理",
                                                                                   timeout=WAIT)
    await expect(page.get_by_role("row").filter(has_text=number)).to_contain_text("已叫号", timeout=WAIT)
    await page.get_by_role("button", name="1 号窗口叫号").click()
    await expect(page.get_by_role("status").filter(has_text="暂无等候")).to_be_visible(timeout=WAIT)
    mine = (await fetch("GET", f"/api/v1/appointments/{booked.json()['id']}", token=citizen_token)).json()
    assert mine["status"] == "called" and mine["window"] == "1"


# ---- payments: refund a paid fee ------------------------------------------------------------------

async def test_a_paid_fee_is_refunded_from_its_detail(demo_app, browser_page, fetch, make_operator) -> None:
    order = await pending_order(demo_app, fetch, "wechat")
    await sandbox_pay(fetch, "wechat", order["order_no"])
    await make_operator("cashier", ["finance"], "", "330100")

    page = await open_console(browser_page, demo_app)
    await log_in(page, "cashier", "pw-cashier")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="缴费").click()
    await page.get_by_label("申请编号").fill(order["application_no"])
    await page.get_by_role("button", name="筛选").click()
    await page.get_by_role("link", name=order["order_no"]).click()
    await expect(page.get_by_role("heading", name="支付回调记录")).to_be_visible(timeout=WAIT)
    await expect(page.get_by_role("table").filter(has_text="TRANSACTION.SUCCESS").first).to_be_visible(timeout=WAIT)
    await check(page, "payment")
    await page.get_by_label("退款金额（元）").fill("5.00")
    await page.get_by_label("原因").fill("多收费用退还")
    await page.get_by_role("button", name="退款").click()
    await confirm(page)
    await expect(page.get_by_role("row").filter(has_text="多收费用退还")).to_contain_text("¥5.00", timeout=WAIT)
    view = (await fetch("GET", f"/api/v1/payments/{order['order_no']}", token=order["token"])).json()
    assert view["refunded_fen"] == 500, view


# ---- channels: rotate a secret --------------------------------------------------------------------

async def test_a_channel_secret_is_rotated_and_only_its_fingerprint_shown(demo_app, browser_page, fetch,
                                                                         make_operator) -> None:
    token = await make_operator("channel-keeper", ["channel_manager"])
    before = (await fetch("GET", "/admin/v1/channels/wxdemo0000000001", token=token)).json()["secrets"]
    name = next(iter(before))

    page = await open_console(browser_page, demo_app)
    await log_in(page, "channel-keeper", "pw-channel-keeper")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="渠道").click()
    await page.get_by_role("row").filter(has_text="wxdemo0000000001").get_by_role("link").click()
    await expect(page.get_by_role("cell", name=before[name]["fingerprint"])).to_be_visible(timeout=WAIT)
    await page.get_by_label("密钥", exact=True).select_option(name)
    new_value = "rotated-secret-value-0123456789abcdef"
    await page.get_by_label("新密钥值").fill(new_value)
    await page.get_by_role("button", name="轮换密钥").click()
    await confirm(page)
    # The page's request may still be on its way: wait for the rotation to land (bounded), then read it.
    deadline = asyncio.get_running_loop().time() + WAIT / 1000
    while True:
        after = (await fetch("GET", "/admin/v1/channels/wxdemo0000000001", token=token)).json()["secrets"]
        if after[name]["fingerprint"] != before[name]["fingerprint"] or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    await expect(page.get_by_role("cell", name=after[name]["fingerprint"])).to_be_visible(timeout=WAIT)
    assert after[name]["fingerprint"] != before[name]["fingerprint"]
    assert new_value not in await page.content()
    await check(page, "channel-rotated")

    # What citizens coming through this channel see, in the order set here.
    adding = page.get_by_label("添加事项（编码）")
    for code in ("GA-0001", "GA-0002"):
        await adding.fill(code)
        await adding.press("Enter")
    await page.get_by_role("button", name="上移 GA-0002").click()
    await page.get_by_role("button", name="保存开放事项").click()
    await expect(page.get_by_role("status").filter(has_text="已保存")).to_be_visible(timeout=WAIT)
    listed = (await fetch("GET", "/api/v1/services", headers={"X-CityGate-Channel": "wxdemo0000000001"})).json()
    assert [item["code"] for item in listed["items"]] == ["GA-0002", "GA-0001"]


def test_the_console_speaks_both_languages_word_for_word() -> None:
    """Every word of the Chinese dictionary has its English, and each word the pages use is in both."""
    folder = pathlib.Path(__file__).resolve().parent.parent / "web" / "console"
    source = (folder / "i18n.js").read_text(encoding="utf-8")
    zh_block = source[source.index("const ZH = {"):source.index("const EN = {")]
    en_block = source[source.index("const EN = {"):source.index("export function lang")]
    key = re.compile(r"(?:'([\w.]+)'|\b(\w+)):\s*['\"]")

    def keys(block: str) -> set[str]:
        return {quoted or bare for quoted, bare in key.findall(block)}
    zh, en = keys(zh_block), keys(en_block)
    assert len(zh) > 200 and zh == en, (zh - en, en - zh)
    used = set()
    for script in folder.glob("*.js"):
        if script.name != "i18n.js":  # t('prefix.' + value) leaves enum words to the fallback; whole keys must exist
            used |= set(re.findall(r"\bt\('([\w.]*\w)'[,)]", script.read_text(encoding="utf-8")))
    assert used - zh == set()
