"""Materials given by an e-licence instead of an upload, with the citizen's consent (授权复用).

A material of a service item may name the licence types that satisfy it (`licence_types`). A citizen
holding a valid licence of such a type may give it for that material, consenting explicitly, per
application, to the handling department seeing that licence for that service (`licences` in the
body: `[{"material", "licence_id", "consent": true}]`). The application keeps a reference per
material (`licences.<material>`: licence, type, number, consent receipt), never a copy. The operator
handling the application opens the licence through the application (scope: its department), which
writes a line in the holder's access log; a withdrawn consent (allowed until the application is
accepted) closes it again. A completed application whose item names a result licence type
(`guide.result.licence_type`) issues that licence to the applicant (`licence_to_issue`).
"""

from __future__ import annotations

import datetime
from typing import Any

from bson import ObjectId

from models import citizens
from models.access import OperatorScope
from models.applications.caches import forget
from models.applications.items import load_item
from models.applications.materials import materials_of
from models.applications.prefill import prefilled_form
from models.applications.queries import get_for_operator
from models.applications.store import in_transaction
from models.core import localized
from models.core.context import Context
from models.errors import Conflict, FieldError, Forbidden, NotFound
from models.licences import consent, signing, store

# Until accepted, a citizen may take back a consent; from then on the department relies on it.
WITHDRAWABLE = ("draft", "submitted")
_STATE_PROBLEMS = {
    store.EXPIRED: ("licence_expired", "已过期", "has expired"),
    store.REVOKED: ("licence_revoked", "已注销", "was revoked"),
    store.NOT_YET_VALID: ("licence_not_yet_valid", "尚未生效", "is not valid yet"),
}


def licence_types_of(material: dict[str, Any]) -> list[str]:
    types = material.get("licence_types")
    return [t for t in types if isinstance(t, str)] if isinstance(types, list) else []


async def holder_index(ctx: Context, citizen_id: str) -> str | None:
    """The blind index of the citizen's verified ID number (their licences carry the same), or None."""
    citizen = await citizens.find_citizen(ctx, citizen_id) or {}
    return (citizen.get("realname") or {}).get("index")


def _entries(raw: Any) -> tuple[list[tuple[int, Any, Any, Any]], list[FieldError]]:
    if raw is None:
        return [], []
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        return [], [FieldError("licences", "type", "「licences」应为数组 [{material, licence_id, consent}]",
                               "licences must be an array of {material, licence_id, consent}")]
    return [(i, x.get("material"), x.get("licence_id"), x.get("consent")) for i, x in enumerate(raw)], []


async def check(ctx: Context, item: dict[str, Any], citizen_id: str, body: dict[str, Any], base: dict[str, Any],
                ) -> tuple[dict[str, dict[str, Any]], set[str], list[FieldError]]:
    """The licences the citizen gives, by material ({material, licence}); the materials a licence was
    offered for (whose problems already say what to upload instead); the problems: unknown or
    unaccepting material, someone else's or unknown licence, a licence that is not valid today (naming
    the material to upload instead), or no explicit consent. Without `licences` in the body, those the
    draft `base` already holds (consented then) are checked again."""
    if "licences" in body:
        entries, problems = _entries(body.get("licences"))
    else:
        entries, problems = [(i, key, ref.get("licence_id"), True)
                             for i, (key, ref) in enumerate(sorted((base.get("licences") or {}).items()))], []
    declared = materials_of(item)
    index = await holder_index(ctx, citizen_id) if entries else None
    today = store.today_of(ctx)
    chosen: dict[str, dict[str, Any]] = {}
    for i, key, licence_id, agreed in entries:
        field = f"licences[{i}]"
        material = declared.get(key) if isinstance(key, str) else None
        if material is None:
            problems.append(FieldError(f"{field}.material", "unknown_material", f"该事项没有材料「{key}」",
                                       f"The service item has no material {key!r}"))
            continue
        zh_name, en_name = localized.text(material.get("name"), "zh-CN"), localized.text(material.get("name"), "en")
        if key in chosen:
            problems.append(FieldError(f"{field}.material", "duplicate_material", f"材料「{zh_name}」只能使用一个证照",
                                       f"Only one licence per material: {en_name}"))
            continue
        try:
            licence = await store.held(ctx, index, licence_id)
        except NotFound:
            problems.append(FieldError(f"{field}.licence_id", "licence_not_found",
                                       f"未找到您的该证照，请上传「{zh_name}」", f"Licence not found; please attach: {en_name}"))
            continue
        type_name = localized.text(licence.get("type_name"), "zh-CN")
        if licence["type"] not in licence_types_of(material):
            problems.append(FieldError(f"{field}.licence_id", "licence_not_accepted",
                                       f"「{type_name}」不能作为「{zh_name}」，请上传「{zh_name}」",
                                       f"This licence cannot serve as {en_name}; please attach: {en_name}"))
            continue
        current = store.state(licence, today)
        if current in _STATE_PROBLEMS:
            code, zh, en = _STATE_PROBLEMS[current]
            problems.append(FieldError(f"{field}.licence_id", code, f"证照「{type_name}」{zh}，请上传「{zh_name}」",
                                       f"The licence {en}; please attach: {en_name}"))
            continue
        if agreed is not True:
            problems.append(FieldError(f"{field}.consent", "consent_required",
                                       f"使用证照「{type_name}」代替「{zh_name}」须您明确授权（consent: true）",
                                       f"Using the licence instead of {en_name} needs your explicit consent (consent: true)"))
            continue
        chosen[key] = {"material": material, "licence": licence}
    return chosen, {key for _, key, _, _ in entries if isinstance(key, str)}, problems


def references(application_no: str, chosen: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What the application keeps per material given by a licence: references, never a copy."""
    return {key: {"licence_id": c["licence"]["_id"], "licence_type": c["licence"]["type"],
                  "licence_type_name": c["licence"].get("type_name"), "number": c["licence"]["number"],
                  "consent_id": consent.consent_id(application_no, key)} for key, c in chosen.items()}


async def record_consents(ctx: Context, citizen_id: str, application: dict[str, Any],
                          chosen: dict[str, dict[str, Any]], now: datetime.datetime) -> None:
    """Write the consent receipts of a saved application (after it: a missing receipt shows nothing)."""
    receipts = [await consent.receipt(ctx, citizen_id=citizen_id, application=application, material=c["material"],
                                      licence=c["licence"], now=now) for c in chosen.values()]
    await consent.record(ctx, receipts)
    await consent.withdraw_dropped(ctx, application["_id"], set(chosen), now)


# ---- the form, with what the citizen could give instead of an upload -------------------------------
async def form_with_offers(ctx: Context, citizen_id: str, code: str, locale: str) -> dict[str, Any]:
    """The prefilled form (prefill.prefilled_form) and, per material that accepts licences, the valid
    licences the citizen holds for it and what consenting to use one means."""
    form = await prefilled_form(ctx, citizen_id, code, locale)
    item = await load_item(ctx.db, code)
    accepting = [m for m in materials_of(item).values() if licence_types_of(m)]
    offers: list[dict[str, Any]] = []
    index = await holder_index(ctx, citizen_id) if accepting else None
    if index:
        today = store.today_of(ctx)
        department = await consent.department_name(ctx.db, item.get("department", ""))
        held = [licence async for licence in ctx.db.licences.find({"holder.index": index})]
        for material in accepting:
            usable = [store.holder_view(licence, today, locale) for licence in held
                      if licence["type"] in licence_types_of(material) and store.state(licence, today) == store.VALID]
            if not usable:
                continue
            who, what = localized.text(department, locale), localized.text(item.get("name"), locale)
            offers.append({"material": material["key"], "material_name": localized.text(material.get("name"), locale),
                           "licences": [{k: shown[k] for k in ("licence_id", "type", "type_name", "number", "valid_until")}
                                        for shown in usable],
                           "recipient_department": item.get("department", ""), "recipient_department_name": who,
                           "purpose": what,
                           "consent_text": (f"You agree that {who} may see this licence to handle “{what}”"
                                            if locale == "en" else f"您同意{who}为办理“{what}”查看该证照")})
    return {**form, "licence_offers": offers}


# ---- consent withdrawal -----------------------------------------------------------------------------
async def withdraw_consent(ctx: Context, citizen_id: str, consent_id: str, locale: str) -> dict[str, Any]:
    """Take back a consent while its application is a draft or not yet accepted: the application no
    longer gives that material (the department will ask for it), and nobody opens the licence through
    it again. 409 consent_locked once the application was accepted."""
    receipt = await ctx.db.licence_consents.find_one({"_id": consent_id}) if isinstance(consent_id, str) else None
    if receipt is None or receipt["citizen_id"] != citizen_id:
        raise NotFound("consent_not_found", "未找到该授权记录", "Consent receipt not found")
    if receipt["status"] != consent.GIVEN:
        raise Conflict("consent_already_withdrawn", "该授权已撤回", "The consent was withdrawn already")
    no, key, now = receipt["application_no"], receipt["material"], ctx.clock()

    async def work(session: Any) -> dict[str, Any] | None:
        updated = await ctx.db.applications.find_one_and_update(
            {"_id": no, "citizen_id": citizen_id, "status": {"$in": list(WITHDRAWABLE)}},
            {"$unset": {f"licences.{key}": ""}, "$set": {"updated_at": now}, "$inc": {"version": 1}}, session=session)
        if updated is not None:
            await ctx.db.licence_consents.update_one({"_id": consent_id, "status": consent.GIVEN},
                                                     {"$set": {"status": consent.WITHDRAWN, "withdrawn_at": now}},
                                                     session=session)
        return updated

    if await in_transaction(ctx, work) is None:
        raise Conflict("consent_locked", "办件已受理或已结束，不能撤回授权", "The application was accepted or has ended; "
                       "the consent can no longer be withdrawn", extra={"application_no": no})
    await forget(ctx, no)
    return consent.consent_view({**receipt, "status": consent.WITHDRAWN, "withdrawn_at": now}, locale)


# ---- the operator handling the application -------------------------------------------------------------
async def operator_name(ctx: Context, operator_id: str) -> str:
    found = await ctx.db.operators.find_one({"_id": ObjectId(operator_id)}, {"name": 1}) \
        if ObjectId.is_valid(operator_id) else None
    return (found or {}).get("name") or ""


async def licence_for_operator(ctx: Context, scope: OperatorScope, no: str, material: str, locale: str) -> dict[str, Any]:
    """The licence an application gives for `material`, as its handling department sees it (holder's
    name in full, ID number masked, whether the signature holds); logged for the holder first.
    404 outside the operator's scope or without such a licence; 403 when the consent (or the
    application) was withdrawn."""
    application = await get_for_operator(ctx.db, no, scope)
    ref = (application.get("licences") or {}).get(material)
    if not isinstance(ref, dict):
        raise store.not_found()
    if application["status"] == "withdrawn" or await consent.find_given(ctx.db, ref.get("consent_id")) is None:
        raise Forbidden("consent_withdrawn", "申请人已撤回授权，不能查看该证照", "The applicant withdrew the consent")
    licence = await store.get(ctx, ref["licence_id"])
    await consent.log_access(ctx, licence, operator_id=scope.operator_id,
                             operator_name=await operator_name(ctx, scope.operator_id),
                             department=application.get("department", ""), application_no=no, action="viewed")
    shown = store.admin_view(licence, store.today_of(ctx), locale)
    shown.update(holder_name=store.holder_name(ctx, licence), application_no=no, material=material,
                 signature_valid=await signing.verify(ctx, licence["signed_form"], licence["signature"]["value"]))
    return shown


# ---- issuing at completion ------------------------------------------------------------------------------
async def licence_to_issue(ctx: Context, application: dict[str, Any]) -> dict[str, Any] | None:
    """The signed licence completing `application` issues, if its item names a result licence type, it
    was approved, and the applicant has a verified real name to bind it to; else None."""
    if (application.get("decision") or {}).get("outcome") != "approved":
        return None
    item = await load_item(ctx.db, application["service_code"])
    type_code = ((item.get("guide") or {}).get("result") or {}).get("licence_type")
    if not isinstance(type_code, str) or not type_code:
        return None
    citizen = await citizens.find_citizen(ctx, application["citizen_id"]) or {}
    return await store.for_application(ctx, type_code, application, citizen.get("realname"))


def issuing(ctx: Context, licence: dict[str, Any] | None) -> Any:
    """The write storing `licence` inside the completion's transaction (None: nothing to issue)."""
    if licence is None:
        return None

    async def write(session: Any) -> None:
        await store.insert(ctx, licence, session)
    return write
