"""Shared fixtures for the consultation, rating and error-report tests (issue 8).

Time is injected: the `clock` fixture replaces `app.ctx.clock` with a clock the test sets by hand.
"""

from __future__ import annotations

import datetime

import pytest

from models import workdays


def cst(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=workdays.SHANGHAI)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now

    def set(self, *args: int) -> None:
        self.now = cst(*args)


@pytest.fixture
def clock(app) -> Clock:
    clock = Clock(cst(2025, 9, 22, 10, 0))  # a Monday morning
    app.ctx.clock = clock
    return clock


@pytest.fixture
async def items(ctx) -> None:
    """Two published items of two departments, and a draft."""
    await ctx.db.services.insert_many([
        {"code": "GA-0001", "name": {"zh-CN": "普通护照签发", "en": "Passport issuance"}, "department": "gongan",
         "status": "published", "guide": {"materials": [{"key": "id_card", "name": {"zh-CN": "居民身份证"}}]}},
        {"code": "MZ-0001", "name": {"zh-CN": "婚姻登记"}, "department": "minzheng", "status": "published",
         "guide": {"materials": []}},
        {"code": "GA-0099", "name": {"zh-CN": "草稿事项"}, "department": "gongan", "status": "draft"},
    ])


@pytest.fixture
async def staff(make_operator) -> dict[str, str]:
    return {
        "gongan": await make_operator("ga-clerk", ["consultation"], "gongan"),
        "minzheng": await make_operator("mz-clerk", ["consultation"], "minzheng"),
        "supervisor": await make_operator("city-supervisor", ["supervisor"], ""),
        "ga_supervisor": await make_operator("ga-supervisor", ["supervisor"], "gongan"),
        "nobody": await make_operator("no-roles", [], "gongan"),
    }


async def ask(fetch, token: str, code: str = "GA-0001", kind: str = "consultation", **extra) -> dict:
    body = {"service_code": code, "kind": kind, "subject": "护照办理需要多久？", "content": "请问办理普通护照需要几个工作日？", **extra}
    response = await fetch("POST", "/api/v1/consultations", json=body, token=token)
    assert response.status == 201, response.text
    return response.json()
