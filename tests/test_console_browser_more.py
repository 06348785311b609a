"""More of the operator console in headless chromium: bad ratings and their rectification, an
administrator changing an operator's roles, and a new hall.

Same fixtures and style as tests/test_console_browser.py (whose helpers these reuse): log in through the
page, work through the console, check the outcome over the API; screenshots and axe-core on each page.
"""
from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.test_console_browser import WAIT, check, confirm, log_in, open_console

# ---- a bad rating answered with its rectification -------------------------------------------------


@pytest.mark.clock(2025, 9, 22, 10, 0)
async def test_a_bad_rating_gets_its_rectification_from_the_department(app, browser_page, fetch, citizen,
                                                                      make_operator) -> None:
    citizen_id, citizen_token = citizen
    no = "A330100202509220007"
    await app.ctx.db.applications.insert_one({"_id": no, "citizen_id": citizen_id, "service_code": "GA-0001",
                                              "department": "gongan", "status": "completed"})
    rated = await fetch("POST", f"/api/v1/applications/{no}/evaluation", token=citizen_token,
                        json={"grade": 1, "comment": "窗口让我跑了三次才办成"})
    assert rated.status == 201, rated.text
    case_id = rated.json()["rectification_id"]
    assert case_id
    clerk_token = await make_operator("ga-rectifier", ["department_operator"], "gongan")
    await make_operator("ga-watcher", ["auditor"], "gongan")

    # An auditor sees the case and its deadline, but no form to answer it.
    page = await open_console(browser_page, app)
    await log_in(page, "ga-watcher", "pw-ga-watcher")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="纠错与差评").click()
    row = page.get_by_role("row").filter(has_text="窗口让我跑了三次才办成")
    await expect(row).to_contain_text("待整改", timeout=WAIT)
    await expect(row.get_by_role("link", name=no)).to_be_visible()
    assert await row.get_by_role("button", name="提交整改").count() == 0
    await page.get_by_role("button", name="退出登录").click()

    # The department's clerk writes what was changed; the case waits for the citizen's follow-up.
    await log_in(page, "ga-rectifier", "pw-ga-rectifier")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="纠错与差评").click()
    await expect(row).to_contain_text("非常不满意", timeout=WAIT)
    response = "已约谈窗口负责人，材料清单改为一次告知。"
    await row.get_by_label("整改说明（至少 10 字）").fill(response)
    await check(page, "feedback-rectification")
    await row.get_by_role("button", name="提交整改").click()
    await expect(row).to_contain_text("已整改，待回访", timeout=WAIT)
    await expect(row).to_contain_text(response)
    assert await row.get_by_role("button", name="提交整改").count() == 0
    await check(page, "feedback-rectified")

    case = (await fetch("GET", f"/admin/v1/rectifications/{case_id}", token=clerk_token)).json()
    assert (case["status"], case["response"], case["responded_late"]) == ("responded", response, False)
    mine = (await fetch("GET", f"/api/v1/rectifications/{case_id}", token=citizen_token)).json()
    assert mine["response"] == response and mine["follow_up"]["question"]

    # The citizen's follow-up closes the case; the console shows how it ended.
    answered = await fetch("POST", f"/api/v1/rectifications/{case_id}/follow-up", token=citizen_token,
                           json={"satisfied": False, "comment": "还是要跑两次"})
    assert answered.status == 200, answered.text
    await page.reload()
    await expect(row).to_contain_text("已办结", timeout=WAIT)
    await expect(row).to_contain_text("回访：不满意：还是要跑两次")


# ---- operators: an administrator changes a clerk's roles ------------------------------------------

async def test_an_admin_changes_a_clerks_roles_and_the_next_login_shows_them(app, browser_page, fetch, operator_token,
                                                                           make_operator) -> None:
    old_token = await make_operator("ga-clerk-2", ["department_operator"], "gongan")
    await make_operator("ops-reader", ["auditor"])

    clerk = await open_console(browser_page, app)
    await log_in(clerk, "ga-clerk-2", "pw-ga-clerk-2")
    clerk_nav = clerk.get_by_role("navigation", name="主导航")
    await expect(clerk_nav.get_by_role("link", name="办件队列")).to_be_visible(timeout=WAIT)
    assert await clerk_nav.get_by_role("link", name="缴费").count() == 0

    # Reading accounts is not changing them: an auditor gets no edit button.
    page = await open_console(browser_page, app)
    await log_in(page, "ops-reader", "pw-ops-reader")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="人员与角色").click()
    await expect(page.get_by_role("row").filter(has_text="ga-clerk-2")).to_be_visible(timeout=WAIT)
    assert await page.get_by_role("button", name="编辑 ga-clerk-2").count() == 0
    await page.get_by_role("button", name="退出登录").click()

    await log_in(page, "test-admin", "test-password-1")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="人员与角色").click()
    await page.get_by_role("button", name="编辑 ga-clerk-2").click()
    form = page.get_by_role("form", name="编辑人员 ga-clerk-2")
    await expect(form.get_by_role("checkbox", name="部门经办人")).to_be_checked(timeout=WAIT)
    await expect(form.get_by_label("部门", exact=True)).to_have_value("gongan")
    await form.get_by_role("checkbox", name="财务").check()
    await form.get_by_label("行政区划").fill("330100")
    await check(page, "operator-edit")
    await form.get_by_role("button", name="保存").click()
    await confirm(page)
    row = page.get_by_role("row").filter(has_text="ga-clerk-2")
    await expect(row).to_contain_text("财务", timeout=WAIT)
    await expect(row).to_contain_text("330100")

    changed = (await fetch("GET", "/admin/v1/operators?page_size=100", token=operator_token)).json()["items"]
    account = next(o for o in changed if o["username"] == "ga-clerk-2")
    assert (sorted(account["roles"]), account["department"], account["region_code"]) == (
        ["department_operator", "finance"], "gongan", "330100")
    # The change ended the clerk's sessions; the next login shows the new navigation.
    assert (await fetch("GET", "/admin/v1/me", token=old_token)).status == 401
    again = await open_console(browser_page, app)
    await log_in(again, "ga-clerk-2", "pw-ga-clerk-2")
    await again.get_by_role("navigation", name="主导航").get_by_role("link", name="缴费").click()
    await expect(again.get_by_role("heading", level=1, name="缴费")).to_be_visible(timeout=WAIT)


# ---- halls: a new hall with its windows -----------------------------------------------------------

async def test_an_admin_creates_a_hall_with_two_windows(app, browser_page, fetch, operator_token,
                                                       make_operator) -> None:
    await make_operator("hall-clerk", ["hall_staff"])
    page = await open_console(browser_page, app)
    # Hall staff work the windows; they do not set up halls.
    await log_in(page, "hall-clerk", "pw-hall-clerk")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="办事大厅").click()
    await expect(page.get_by_role("heading", level=1, name="办事大厅")).to_be_visible(timeout=WAIT)
    assert await page.get_by_role("form", name="新建大厅").count() == 0
    await page.get_by_role("button", name="退出登录").click()

    await log_in(page, "test-admin", "test-password-1")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="办事大厅").click()
    form = page.get_by_role("form", name="新建大厅")
    await form.get_by_label("大厅名称").fill("西湖区政务服务中心")
    await form.get_by_label("地址").fill("西湖区文三路 100 号")
    await form.get_by_label("办公时间").fill("工作日 9:00-17:00")
    await form.get_by_label("行政区划").fill("330106")
    await form.get_by_label("窗口 1 办理事项（编码，逗号分隔）").fill("GA-0001, GA-0003")
    await form.get_by_role("button", name="添加窗口").click()
    await expect(form.get_by_label("窗口 2 编号")).to_be_focused(timeout=WAIT)
    await form.get_by_label("窗口 2 编号").fill("B2")
    await form.get_by_label("窗口 2 办理事项（编码，逗号分隔）").fill("JJ-0001")
    await check(page, "hall-new")
    await form.get_by_role("button", name="创建").click()
    await expect(page.get_by_role("heading", level=1, name="西湖区政务服务中心")).to_be_visible(timeout=WAIT)
    await expect(page.get_by_role("table", name=re.compile("每周时段与名额"))).to_be_visible(timeout=WAIT)
    await check(page, "hall-created")

    halls = (await fetch("GET", "/admin/v1/halls?page_size=100", token=operator_token)).json()["items"]
    hall = next(h for h in halls if h["name"]["zh-CN"] == "西湖区政务服务中心")
    assert (hall["address"]["zh-CN"], hall["region_code"]) == ("西湖区文三路 100 号", "330106")
    assert [(w["number"], w["service_codes"]) for w in hall["windows"]] == [("1", ["GA-0001", "GA-0003"]),
                                                                         ("B2", ["JJ-0001"])]

    # A window without a number is refused, the problem shown in the form.
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="办事大厅").click()
    await form.get_by_label("大厅名称").fill("无窗口编号的大厅")
    await form.get_by_label("地址").fill("某路 1 号")
    await form.get_by_label("窗口 1 编号").fill("#1")
    await form.get_by_label("窗口 1 办理事项（编码，逗号分隔）").fill("GA-0001")
    await form.get_by_role("button", name="创建").click()
    await expect(form.get_by_role("alert")).to_be_visible(timeout=WAIT)
    assert not [h for h in (await fetch("GET", "/admin/v1/halls?page_size=100", token=operator_token)).json()["items"]
                if h["name"]["zh-CN"] == "无窗口编号的大厅"]
