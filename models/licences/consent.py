"""Consent receipts (授权记录) and the access log (谁查看了我的证照).

A citizen who offers a licence instead of an upload consents, per application, to one department
seeing one licence for one purpose; the receipt records exactly that and is theirs to list and, while
the application is not yet accepted, to withdraw (models.applications.licensed). Every time an
operator opens a licence, the holder's access log gains a line: who (masked), which department,
when, for which application.
"""

from __future__ import annotations

import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from models.core import localized
from models.core.context import Context
from models.core.masking import mask_name
from models.core.pagination import page_of
from models.core.timezone import local_iso

GIVEN, WITHDRAWN = "given", "withdrawn"


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.licence_consents.create_index("citizen_id")
    await db.licence_consents.create_index("application_no")
    await db.licence_accesses.create_index("licence_id")


def consent_id(application_no: str, material: str) -> str:
    """One receipt per application and material: consenting again renews it."""
    return f"{application_no}:{material}"


async def department_name(db: AsyncDatabase, code: str) -> Any:
    found = await db.departments.find_one({"code": code}, {"name": 1}) if code else None
    return (found or {}).get("name") or code


async def receipt(ctx: Context, *, citizen_id: str, application: dict[str, Any], material: dict[str, Any],
                  licence: dict[str, Any], now: datetime.datetime) -> dict[str, Any]:
    """What the citizen agrees to: which licence, seen by whom, for what."""
    department = application.get("department", "")
    return {
        "_id": consent_id(application["_id"], material["key"]), "citizen_id": citizen_id,
        "application_no": application["_id"], "material": material["key"], "material_name": material.get("name"),
        "licence_id": licence["_id"], "licence_type": licence["type"], "licence_type_name": licence.get("type_name"),
        "licence_number": licence["number"],
        "recipient": {"department": department, "department_name": await department_name(ctx.db, department),
                      "region_code": application.get("region_code", "")},
        "purpose": {"service_code": application.get("service_code"), "service_name": application.get("service_name")},
        "status": GIVEN, "given_at": now, "withdrawn_at": None,
    }


async def record(ctx: Context, receipts: list[dict[str, Any]]) -> None:
    """Store the receipts (consenting again to the same material renews its receipt)."""
    for doc in receipts:
        await ctx.db.licence_consents.replace_one({"_id": doc["_id"]}, doc, upsert=True)


async def withdraw_dropped(ctx: Context, application_no: str, kept: set[str], now: datetime.datetime) -> None:
    """Mark withdrawn the receipts of an application's materials no longer given by a licence."""
    async for doc in ctx.db.licence_consents.find({"application_no": application_no, "status": GIVEN}, {"material": 1}):
        if doc["material"] not in kept:
            await ctx.db.licence_consents.update_one({"_id": doc["_id"], "status": GIVEN},
                                                     {"$set": {"status": WITHDRAWN, "withdrawn_at": now}})


async def find_given(db: AsyncDatabase, consent: Any) -> dict[str, Any] | None:
    return await db.licence_consents.find_one({"_id": consent, "status": GIVEN}) if isinstance(consent, str) else None


def consent_view(doc: dict[str, Any], locale: str) -> dict[str, Any]:
    return {
        "consent_id": doc["_id"], "application_no": doc["application_no"], "material": doc["material"],
        "material_name": localized.text(doc.get("material_name"), locale), "licence_id": doc["licence_id"],
        "licence_type": doc["licence_type"], "licence_type_name": localized.text(doc.get("licence_type_name"), locale),
        "licence_number": doc["licence_number"],
        "recipient_department": doc["recipient"]["department"],
        "recipient_department_name": localized.text(doc["recipient"].get("department_name"), locale),
        "purpose": localized.text(doc["purpose"].get("service_name"), locale),
        "service_code": doc["purpose"].get("service_code"), "status": doc["status"],
        "given_at": local_iso(doc["given_at"]), "withdrawn_at": local_iso(doc.get("withdrawn_at")),
    }


async def list_for_citizen(ctx: Context, citizen_id: str, page: int, page_size: int, locale: str) -> dict[str, Any]:
    """The citizen's consent receipts, newest first."""
    return await page_of(ctx.db.licence_consents, {"citizen_id": citizen_id},
                         [("given_at", DESCENDING), ("_id", DESCENDING)], page, page_size,
                         lambda doc: consent_view(doc, locale))


# ---- the access log -------------------------------------------------------------------------------------
async def log_access(ctx: Context, licence: dict[str, Any], *, operator_id: str, operator_name: str, department: str,
                     application_no: str | None, action: str) -> None:
    """One line in the holder's access log (written before the licence is shown)."""
    await ctx.db.licence_accesses.insert_one({
        "licence_id": licence["_id"], "at": ctx.clock(), "action": action, "operator_id": operator_id,
        "operator_name": mask_name(operator_name or "?"), "department": department,
        "department_name": await department_name(ctx.db, department), "application_no": application_no,
    })


def access_view(doc: dict[str, Any], locale: str) -> dict[str, Any]:
    return {"at": local_iso(doc["at"]), "action": doc["action"], "operator": doc["operator_name"],
            "department": doc["department"], "department_name": localized.text(doc.get("department_name"), locale),
            "application_no": doc.get("application_no")}


async def accesses(ctx: Context, licence_id: str, page: int, page_size: int, locale: str) -> dict[str, Any]:
    """Who looked at one licence, newest first."""
    return await page_of(ctx.db.licence_accesses, {"licence_id": licence_id}, [("at", DESCENDING), ("_id", DESCENDING)],
                         page, page_size, lambda doc: access_view(doc, locale))
