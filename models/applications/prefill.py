"""Prefill and masking: what a citizen already gave, offered again by meaning, with ID and phone
numbers shown masked and put back when they come back unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pymongo import DESCENDING

from models import citizens
from models.applications.forms import field_titles
from models.applications.items import online_item
from models.applications.materials import material_view, materials_of
from models.core import localized
from models.core.context import Context
from models.core.masking import mask
from models.errors import FieldError

# Meanings whose values never leave the server unmasked (prefill shows them masked only).
SENSITIVE_MEANINGS = frozenset({"id_number", "phone"})
# Property names that mean the same thing across items' forms (prefill matches on meaning).
SYNONYMS = {
    "applicant_name": "name", "real_name": "name", "full_name": "name", "xingming": "name",
    "mobile": "phone", "mobile_phone": "phone", "phone_number": "phone", "telephone": "phone", "contact_phone": "phone",
    "id_no": "id_number", "id_card": "id_number", "id_card_no": "id_number", "id_card_number": "id_number",
    "home_address": "address", "contact_address": "address", "residential_address": "address",
    "email_address": "email", "mail": "email",
}


def meaning(name: str, schema: Any) -> str:
    """What a form field means: its `x-meaning` annotation, else its name (with common synonyms folded)."""
    declared = schema.get("x-meaning") if isinstance(schema, dict) else None
    key = str(declared or name).lower()
    return SYNONYMS.get(key, key)


def form_leaves(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(path, property schema) of every scalar field in an object schema, nested objects included."""
    if not isinstance(schema, dict):
        return
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        if prop.get("type") == "object" or "properties" in prop:
            yield from form_leaves(prop, (*path, name))
        elif prop.get("type") != "array":
            yield (*path, name), prop


def form_meanings(schema: Any, form: dict[str, Any]) -> dict[str, Any]:
    """{meaning: value} of a filled form's scalar fields, kept with the application for later prefill."""
    found: dict[str, Any] = {}
    for path, prop in form_leaves(schema):
        value: Any = form
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        key = meaning(path[-1], prop)
        if value not in (None, "") and not isinstance(value, (dict, list)) and key not in SENSITIVE_MEANINGS:
            found.setdefault(key, value)
    return found


def sensitive_paths(schema: Any) -> list[str]:
    """Dotted paths of the form fields holding ID or phone numbers (never returned unmasked)."""
    return [".".join(path) for path, prop in form_leaves(schema) if meaning(path[-1], prop) in SENSITIVE_MEANINGS]


def _get(form: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        form = form.get(part) if isinstance(form, dict) else None
    return form


def _set(form: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        form = form.setdefault(part, {})
    form[last] = value


def masked_form(form: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """A copy of `form` with the values at `paths` masked."""
    shown = json.loads(json.dumps(form, ensure_ascii=False, default=str))
    for dotted in paths:
        value = _get(shown, dotted)
        if isinstance(value, str) and value:
            _set(shown, dotted, mask(value))
    return shown


def citizen_secrets(ctx: Context, citizen: dict[str, Any]) -> dict[str, list[str]]:
    """The citizen's own ID and phone numbers (decrypted), to recognise them when sent back masked."""
    known: dict[str, list[str]] = {"id_number": [], "phone": []}
    for meaning_key, record, context in (("id_number", citizen.get("realname"), "citizen.id_number"),
                                         ("phone", citizen.get("phone"), "citizen.phone")):
        sealed = (record or {}).get("id_cipher" if meaning_key == "id_number" else "cipher") if isinstance(record, dict) else None
        if sealed:
            try:
                known[meaning_key].append(ctx.cipher.decrypt(sealed, context))
            except ValueError:
                pass  # a retired key: the citizen types the number instead
    for key, value in (citizen.get("profile") or {}).items():
        folded = SYNONYMS.get(key.lower(), key.lower())
        if folded in known and isinstance(value, str) and value:
            known[folded].append(value)
    return known


def unmask(schema: Any, form: dict[str, Any], known: dict[str, list[str]], previous: dict[str, Any] | None
           ) -> tuple[dict[str, Any], list[FieldError]]:
    """Put back the real numbers where `form` carries a masked one we can recognise: the citizen's own
    verified numbers, or the value this draft already holds. Masked values we cannot place are errors."""
    form = json.loads(json.dumps(form, ensure_ascii=False, default=str))
    problems: list[FieldError] = []
    for path, prop in form_leaves(schema):
        dotted = ".".join(path)
        value = _get(form, dotted)
        if not isinstance(value, str) or "*" not in value:
            continue
        candidates = list(known.get(meaning(path[-1], prop), []))
        earlier = _get(previous or {}, dotted)
        if isinstance(earlier, str):
            candidates.append(earlier)
        real = next((c for c in candidates if mask(c) == value), None)
        if real is None and meaning(path[-1], prop) in SENSITIVE_MEANINGS:
            zh, en = field_titles(prop, path[-1])
            problems.append(FieldError(f"form.{dotted}", "masked_value", f"「{zh}」请填写完整号码", f"{en}: enter the full number"))
        elif real is not None:
            _set(form, dotted, real)
    return form, problems


def citizen_facts(citizen: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(source, {meaning: value}) the citizen's own record offers, most trustworthy first; numbers masked."""
    facts: list[tuple[str, dict[str, Any]]] = []
    realname = citizen.get("realname") or {}
    if isinstance(realname, dict) and realname.get("name"):
        verified = {"name": realname["name"]}
        verified.update({k: realname[k] for k in ("birth_date", "gender") if realname.get(k)})
        if realname.get("id_masked"):
            verified["id_number"] = realname["id_masked"]
        facts.append(("realname", verified))
    phone = citizen.get("phone") or {}
    if isinstance(phone, dict) and phone.get("masked"):
        facts.append(("phone", {"phone": phone["masked"]}))
    plain = {}
    for key, value in (citizen.get("profile") or {}).items():
        folded = SYNONYMS.get(key.lower(), key.lower())
        if isinstance(value, (str, int, float, bool)) and value not in ("", None):
            plain[folded] = mask(value) if folded in SENSITIVE_MEANINGS and isinstance(value, str) else value
    facts.append(("profile", plain))
    return facts


async def prefilled_form(ctx: Context, citizen_id: str, code: str, locale: str) -> dict[str, Any]:
    """The item's form schema with the values this citizen already gave, and where each came from.

    ID and phone numbers come masked (listed in `masked`); sent back unchanged, the server puts the
    real number in their place, so the full number never travels back to the client.
    """
    item = await online_item(ctx.db, code)
    schema = item.get("form_schema") or {"type": "object", "properties": {}}
    sources = citizen_facts(await citizens.find_citizen(ctx, citizen_id, follow_merge=False) or {})
    earlier = ctx.db.applications.find(
        {"citizen_id": citizen_id, "status": {"$ne": "draft"}, "prefill_values": {"$exists": True}},
        {"prefill_values": 1}).sort([("created_at", DESCENDING)]).limit(20)
    async for application in earlier:
        sources.append(("application", application.get("prefill_values") or {}))
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for path, prop in form_leaves(schema):
        key = meaning(path[-1], prop)
        found = next(((source, offered[key]) for source, offered in sources if key in offered), None)
        if found is not None:
            _set(values, ".".join(path), found[1])
            origin[".".join(path)] = found[0]
    draft = await ctx.db.applications.find_one({"citizen_id": citizen_id, "service_code": code, "status": "draft"},
                                               {"_id": 1, "version": 1}, sort=[("updated_at", DESCENDING)])
    return {"service_code": code, "service_name": localized.text(item.get("name"), locale), "form_schema": schema,
            "values": values, "sources": origin, "masked": sorted(set(origin) & set(sensitive_paths(schema))),
            "materials": [material_view(m, locale) for m in materials_of(item).values()],
            "draft_application_no": draft["_id"] if draft else None}

