"""The browser harness itself: Debian's chromium renders a page the service serves, in Chinese, and
axe-core finds what it must find."""
from __future__ import annotations

from tests.browser_support import PHONE, save_screenshot, serious_violations


async def test_chromium_renders_a_served_page_and_axe_reports_its_faults(app, browser_page):
    page = await browser_page(**PHONE)
    await page.goto(app.base_url + "/docs")
    await page.wait_for_selector(".swagger-ui")
    path = await save_screenshot(page, "harness", "docs")
    assert path.stat().st_size > 1000

    # A page with faults axe-core calls serious: an image without text, a button without a name.
    await page.set_content('<html lang="zh-CN"><head><title>办事</title></head><body><main>'
                           '<h1>办护照</h1><img src="data:image/png;base64,iVBORw0KGgo="><button></button>'
                           '</main></body></html>')
    found = await serious_violations(page)
    assert any(line.startswith("image-alt") for line in found), found
    assert any(line.startswith("button-name") for line in found), found

    await page.set_content('<html lang="zh-CN"><head><title>办事</title></head><body><main>'
                           '<h1>办护照</h1><img alt="护照" src="data:image/png;base64,iVBORw0KGgo=">'
                           '<button>提交</button></main></body></html>')
    assert await serious_violations(page) == []
    # CJK text is laid out with a real font (a missing font draws boxes of the same width as "W").
    width_cjk = await page.evaluate("() => { const s = document.createElement('span'); s.textContent = '办护照办护照';"
                                    " document.body.append(s); return s.getBoundingClientRect().width }")
    assert width_cjk > 0
