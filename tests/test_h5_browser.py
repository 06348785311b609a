"""The H5 client at /m/ in headless chromium at a phone's size: a citizen's whole journey, through the
WeChat official-account login, as the same citizen the mini-program knows. Each step is saved as a
screenshot (test-artifacts/screenshots/h5/) and checked with axe-core (no serious violations)."""

from __future__ import annotations

import base64
import re

from playwright.async_api import Page, expect

from models.channels import DEMO_ALIPAY_WEB_APP_ID, DEMO_WECHAT_OA_APP_ID
from tests.browser_support import PHONE, save_screenshot, serious_violations
from tests.identity_support import alipay_login, phone_code, wechat_login

# A real 1x1 PNG: what a phone's camera would hand over, only smaller.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
ID_NUMBER = "11010519491231002X"
# The machine running the suite is shared and loaded: allow each expectation the page's own patience.
expect.set_options(timeout=30_000)


async def step(page: Page, name: str) -> None:
    """A screenshot of the page as it is, and no serious accessibility violation on it."""
    await save_screenshot(page, "h5", name)
    assert await serious_violations(page) == [], name


async def test_a_citizens_whole_journey_in_the_phone_browser(demo_app, fetch, browser_page, operator_token) -> None:
    base = demo_app.base_url
    # The citizen has used the WeChat mini-program: phone and real name were given there once.
    mini = await wechat_login(fetch, "mp-journey-0001", unionid="union-journey-0001")
    token = mini["access_token"]
    assert (await fetch("POST", "/api/v1/me/phone", json={"code": await phone_code(fetch, "13912345678")},
                        token=token)).status == 200
    assert (await fetch("POST", "/api/v1/me/realname", json={"name": "王小明", "id_number": ID_NUMBER},
                        token=token)).status == 200
    # Whoever consents next on the official account's page is that person (same unionid).
    await fetch("POST", "/sandbox/wechat/test/oauth-user", json={
        "app_id": DEMO_WECHAT_OA_APP_ID, "openid": "oa-journey-0001", "unionid": "union-journey-0001"})

    page = await browser_page(**PHONE, bypass_csp=True)  # the page's CSP would refuse axe-core's script
    await page.goto(base + "/m/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("城市通办")
    await step(page, "01-home")

    # Everyday words find the service; its guide reads on a phone.
    await page.get_by_label("搜索事项").fill("办护照")
    await page.get_by_role("button", name="搜索").click()
    await page.get_by_role("link", name=re.compile("普通护照签发")).first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("普通护照签发")
    await expect(page.get_by_text("¥120.00")).to_be_visible()
    await step(page, "02-guide")

    # Applying needs a login: through WeChat's consent page, and back to the form it started from.
    await page.get_by_role("link", name="在线办理").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("登录后继续办理")
    await step(page, "03-login")
    await page.get_by_role("link", name="微信授权登录").click()
    await expect(page.get_by_role("button", name="同意")).to_be_visible()
    await step(page, "04-wechat-consent")
    await page.get_by_role("button", name="同意").click()
    await expect(page).to_have_url(re.compile(r"/m/#/apply/GA-0001$"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text("填写申请")

    # The form comes filled with what the citizen gave in the mini-program, numbers masked.
    await expect(page.get_by_label("申请人姓名")).to_have_value("王小明")
    id_value = await page.get_by_label("公民身份号码").input_value()
    assert id_value != ID_NUMBER and id_value.endswith("002X")
    await page.get_by_label("出境事由").select_option("旅游")
    await page.get_by_label("前往国家（地区）").fill("新加坡")
    for material in ("id_card", "photo"):  # from the gallery (the camera input is the other one)
        await page.locator(f'input[data-material="{material}"]:not([capture])').set_input_files(
            {"name": f"{material}.png", "mimeType": "image/png", "buffer": PNG})
        await expect(page.locator(f"#m-{material}-note")).to_contain_text("已上传")
    camera = page.locator('input[data-material="photo"][capture]')
    assert await camera.get_attribute("accept") == "image/*"
    await step(page, "05-form")
    await page.get_by_role("button", name="提交申请").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("办件详情")
    number = (await page.locator("dd").nth(1).inner_text()).strip()
    assert number
    await step(page, "06-application")

    # The fee, through the sandbox wallet (WeChat Pay, where the mini-program gave a payer id).
    await page.get_by_role("button", name=re.compile("立即缴费")).click()
    await expect(page.locator("#main .badge.ok")).to_have_text("已缴费")
    await step(page, "07-paid")

    # A visit to the hall: a day, a time, and the booking's check-in code.
    await page.goto(base + "/m/#/service/GA-0001")
    await page.get_by_role("link", name="预约到厅").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("预约到厅办理")
    date = page.get_by_label("日期").first
    await date.select_option(index=1)
    await page.get_by_role("button", name=re.compile(r"^\d\d:\d\d-")).first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("预约成功")
    code = (await page.locator(".code").inner_text()).strip()
    appointments = (await fetch("GET", "/api/v1/appointments", token=token)).json()["items"]
    assert [a["id"] for a in appointments] == [code]  # the mini-program sees the same booking
    await step(page, "08-booking")

    # The department handles it; the timeline shows each step, and the citizen rates the service.
    for action in ({"action": "accept"}, {"action": "approve"}, {"action": "complete", "result": {"note": "新证已寄出"}}):
        done = await fetch("POST", f"/admin/v1/applications/{number}/actions", json=action, token=operator_token)
        assert done.status == 200, done.text
    await page.goto(base + f"/m/#/app/{number}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("办件详情")
    await expect(page.locator(".timeline li")).to_have_count(4)
    await page.get_by_label("满意", exact=True).check()
    await page.get_by_label("留言（选填）").fill("手机上就办好了")
    await page.get_by_role("button", name="提交评价").click()
    await expect(page.get_by_text("感谢您的评价")).to_be_visible()
    await step(page, "09-rated")

    # A question about the service.
    await page.get_by_role("link", name="我要咨询").click()
    await page.get_by_label("问题概述").fill("护照可以邮寄到外地吗")
    await page.get_by_label("详细描述").fill("我在外地工作，能否把护照寄到工作地？")
    await page.get_by_role("button", name="提交咨询").click()
    await expect(page.get_by_text("已提交")).to_be_visible()
    await step(page, "10-asked")

    # The same citizen from the mini-program sees the application, paid and rated, and the question.
    mine = (await fetch("GET", f"/api/v1/applications/{number}", token=token)).json()
    assert mine["status"] == "completed" and mine["payment"]["status"] == "paid"
    asked = (await fetch("GET", "/api/v1/consultations", token=token)).json()
    assert asked["total"] == 1

    # My applications and bookings; then English and large text for whoever needs them.
    await page.goto(base + "/m/#/mine")
    await expect(page.get_by_role("link", name=re.compile(number))).to_be_visible()
    await step(page, "11-mine")
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("My applications and bookings")
    assert await page.evaluate("document.documentElement.lang") == "en"
    await page.get_by_role("button", name="Large text").click()
    assert await page.evaluate("document.documentElement.classList.contains('big')")
    await step(page, "12-english-large")
    assert page.console_errors == []  # type: ignore[attr-defined]


async def test_alipay_web_login_returns_to_its_page_and_shows_the_mini_programs_application(
        demo_app, fetch, browser_page) -> None:
    # An application made in the Alipay mini-program...
    mini = await alipay_login(fetch, "2088000000000123")
    draft = await fetch("POST", "/api/v1/applications", token=mini["access_token"],
                        json={"service_code": "GA-0001", "form": {}, "draft": True})
    assert draft.status == 201, draft.text
    number = draft.json()["application_no"]
    await fetch("POST", "/sandbox/alipay/test/oauth-user", json={"app_id": DEMO_ALIPAY_WEB_APP_ID,
                                                                 "user_id": "2088000000000123"})
    # ...is there after an Alipay web login in the phone browser, which comes back to "mine".
    page = await browser_page(**PHONE, bypass_csp=True)  # the page's CSP would refuse axe-core's script
    await page.goto(demo_app.base_url + "/m/#/mine")
    await expect(page.get_by_role("heading", level=1)).to_have_text("登录后继续办理")
    await page.get_by_role("link", name="支付宝授权登录").click()
    await expect(page.get_by_role("button", name="同意")).to_be_visible()
    await step(page, "20-alipay-consent")
    await page.get_by_role("button", name="同意").click()
    await expect(page).to_have_url(re.compile(r"/m/#/mine$"))
    await expect(page.get_by_role("link", name=re.compile(number))).to_be_visible()
    await step(page, "21-alipay-mine")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["cg_session"]["httpOnly"] and cookies["cg_session"]["sameSite"] == "Lax"
    assert not cookies["cg_csrf"]["httpOnly"]


async def test_the_client_is_light_gzipped_and_revalidated(app) -> None:
    from tornado.httpclient import HTTPRequest

    async def get(path: str, headers: dict[str, str] | None = None):  # noqa: ANN202
        return await app.http.fetch(HTTPRequest(app.base_url + path, headers={"Accept-Encoding": "gzip", **(headers or {})},
                                                decompress_response=False), raise_error=False)

    page = await get("/m/")
    assert page.code == 200 and page.headers["Content-Encoding"] == "gzip"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    first_load = len(page.body)
    for name in ("app.js", "i18n.js", "style.css", "icon.svg"):
        asset = await get(f"/m/{name}")
        assert asset.code == 200 and asset.headers["Content-Encoding"] == "gzip", name
        first_load += len(asset.body)
        again = await get(f"/m/{name}", {"If-None-Match": asset.headers["ETag"]})
        assert again.code == 304, name
    # What a phone on 3G downloads before the first API answer (docs/h5.md states it): ~11.4 kB.
    assert first_load < 20_000, first_load
    assert (await get("/m/../config/settings.py")).code == 404
    assert (await get("/m/nothing.js")).code == 404
    moved = await app.http.fetch(HTTPRequest(app.base_url + "/m", follow_redirects=False), raise_error=False)
    assert moved.code == 301 and moved.headers["Location"] == "/m/"
