"""Browser tests in Debian's chromium, driven by Playwright for Python (no browser download).

`scripts/setup.sh` installs the `chromium` package with CJK fonts; Playwright starts it from
`/usr/bin/chromium` (CITYGATE_CHROMIUM overrides). Pages are checked with axe-core (the copy of
axe.min.js that the pinned axe-playwright-python package carries), and each main page is saved as a
screenshot under `test-artifacts/screenshots/<suite>/` at the repository root (CITYGATE_ARTIFACTS
moves the root), which CI can keep as artifacts.

    async def test_x(browser_page, app):
        page = await browser_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        await page.goto(app.base_url + "/console/")
        await save_screenshot(page, "console", "login")
        assert await serious_violations(page) == []
"""
from __future__ import annotations

import os
import pathlib
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import axe_playwright_python
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

ROOT = pathlib.Path(__file__).resolve().parent.parent
ARTIFACTS = pathlib.Path(os.environ.get("CITYGATE_ARTIFACTS", ROOT / "test-artifacts"))
AXE_SCRIPT = (pathlib.Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")

# The flags a closed network needs: without the background-networking ones chromium keeps dialling
# Google's hosts, and those refused connections slow every start.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]

# A phone as the H5 pages meet it (touch, small viewport, high density).
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True}
DESK = {"viewport": {"width": 1280, "height": 800}}
TABLET = {"viewport": {"width": 820, "height": 1180}, "has_touch": True}


def chromium_path() -> str:
    path = os.environ.get("CITYGATE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail("Debian's chromium is missing: run `make setup` (scripts/setup.sh installs it)")
    return path


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """One headless chromium for the test."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                                   args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def browser_page(chromium: Browser) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    """browser_page(**context_options) -> a new page in a fresh context (own cookies and storage).

    Context options are Playwright's (`viewport`, `locale`, `is_mobile`, `has_touch`, ...); PHONE,
    TABLET and DESK above are the shapes the tests use. Console errors are collected on
    `page.console_errors` so a test can assert the page ran clean.
    """
    contexts: list[BrowserContext] = []

    async def open_page(**options: Any) -> Page:
        options.setdefault("locale", "zh-CN")
        context = await chromium.new_context(**options)
        contexts.append(context)
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.console_errors = errors  # type: ignore[attr-defined]
        page.set_default_timeout(30_000)
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            await context.close()


async def save_screenshot(page: Page, suite: str, name: str) -> pathlib.Path:
    """Writes test-artifacts/screenshots/<suite>/<name>.png (the whole page) and returns its path."""
    folder = ARTIFACTS / "screenshots" / suite
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def serious_violations(page: Page, *, exclude: tuple[str, ...] = ()) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each.

    `exclude` takes CSS selectors of parts that are not ours to fix (none so far).
    """
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(content=AXE_SCRIPT)
    context: Any = {"exclude": [[selector] for selector in exclude]} if exclude else None
    result = await page.evaluate(
        "async (context) => await axe.run(context || document, {resultTypes: ['violations']})", context)
    lines = []
    for violation in result["violations"]:
        if violation.get("impact") not in ("serious", "critical"):
            continue
        targets = [" ".join(map(str, node.get("target", []))) for node in violation.get("nodes", [])][:5]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return lines
