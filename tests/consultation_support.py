"""Shared fixtures for the consultation, rating and error-report tests (issue 8).

Time is the test clock (conftest's `clock`): these modules start it at `MONDAY_MORNING` with
`pytestmark = pytest.mark.clock(*MONDAY_MORNING)`, and tests move it with `clock.set(2025, 9, 22, 16, 0)`.
"""

from __future__ import annotations

import pytest

MONDAY_MORNING = (2025, 9, 22, 10, 0)  # 2025-09-22, a Monday, 10:00 in Shanghai


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
        "gongan": await make_operator("ga-clerk", ["department_operator"], "gongan"),
        "minzheng": await make_operator("mz-clerk", ["department_operator"], "minzheng"),
        "supervisor": await make_operator("city-supervisor", ["auditor"], ""),
        "ga_supervisor": await make_operator("ga-supervisor", ["auditor"], "gongan"),
        "nobody": await make_operator("no-roles", [], "gongan"),
    }


async def ask(fetch, token: str, code: str = "GA-0001", kind: str = "consultation", **extra) -> dict:
    body = {"service_code": code, "kind": kind, "subject": "护照办理需要多久？", "content": "请问办理普通护照需要几个工作日？", **extra}
    response = await fetch("POST", "/api/v1/consultations", json=body, token=token)
    assert response.status == 201, response.text
    return response.json()
