"""Licence signatures: Ed25519 keys that rotate, the canonical form they sign, the QR payload.

Each key has an id (`kid`); the newest key signs, every key ever made still verifies (its id
travels inside the signed form), so a rotation never invalidates a licence already in a wallet.
Private keys are stored sealed with the field cipher (`licence.signing_key:<kid>`), public keys in
clear. Why Ed25519 and not SM2/SM3, and the canonical form: docs/licences.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pymongo import DESCENDING

from models.core.context import Context
from models.core.timezone import local_iso

ALGORITHM = "Ed25519"
PAYLOAD_PREFIX = "CGL1"
FORM_VERSION = 1
MAX_PAYLOAD_CHARS = 4096


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_context(kid: str) -> str:
    return f"licence.signing_key:{kid}"


def canonical(form: dict[str, Any]) -> bytes:
    """The bytes a signature covers: JSON, keys sorted, no spaces, UTF-8 (characters, not escapes)."""
    return json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


async def _new_key(ctx: Context) -> dict[str, Any]:
    now = ctx.clock()
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = f"lk-{now:%Y%m%d}-{secrets.token_hex(3)}"
    doc = {"_id": kid, "alg": ALGORITHM, "public_key": _b64(public),
           "private_cipher": ctx.cipher.encrypt(_b64(raw), _key_context(kid)), "created_at": now}
    await ctx.db.licence_keys.insert_one(doc)
    return doc


async def ensure_key(ctx: Context) -> dict[str, Any]:
    """The current signing key, made on first use (the embedded default makes one at start).

    Two processes making the first key at once both succeed: each key verifies, the newer signs.
    """
    current = await ctx.db.licence_keys.find_one({}, sort=[("created_at", DESCENDING)])
    return current if current is not None else await _new_key(ctx)


async def rotate(ctx: Context) -> dict[str, Any]:
    """Make a new current key; older keys keep verifying what they signed."""
    return key_view(await _new_key(ctx), current=True)


def key_view(doc: dict[str, Any], *, current: bool) -> dict[str, Any]:
    return {"kid": doc["_id"], "alg": doc["alg"], "public_key": doc["public_key"],
            "created_at": local_iso(doc["created_at"]), "current": current}


async def public_keys(ctx: Context) -> list[dict[str, Any]]:
    """Every key's public half, newest (the signing one) first."""
    docs = await ctx.db.licence_keys.find({}, {"private_cipher": 0}).sort([("created_at", DESCENDING)]).to_list(None)
    return [key_view(doc, current=index == 0) for index, doc in enumerate(docs)]


async def sign(ctx: Context, form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the signed form with its key id, {"kid", "alg", "value"}) under the current key."""
    key = await ensure_key(ctx)
    signed = {**form, "v": FORM_VERSION, "kid": key["_id"]}
    raw = _unb64(ctx.cipher.decrypt(key["private_cipher"], _key_context(key["_id"])))
    value = Ed25519PrivateKey.from_private_bytes(raw).sign(canonical(signed))
    return signed, {"kid": key["_id"], "alg": ALGORITHM, "value": _b64(value)}


async def verify(ctx: Context, form: dict[str, Any], signature: str) -> bool:
    """Whether `signature` (base64url) is a signature over `form` by the key it names."""
    kid = form.get("kid")
    key = await ctx.db.licence_keys.find_one({"_id": kid}, {"public_key": 1}) if isinstance(kid, str) else None
    if key is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(_unb64(key["public_key"])).verify(_unb64(signature), canonical(form))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def payload(form: dict[str, Any], signature: dict[str, str]) -> str:
    """The compact string a verification QR code carries: CGL1.<form>.<signature> (base64url)."""
    return f"{PAYLOAD_PREFIX}.{_b64(canonical(form))}.{signature['value']}"


def read_payload(text: str) -> tuple[dict[str, Any], str] | None:
    """(form, signature) of a QR payload; None when it is not one (never an exception)."""
    if not isinstance(text, str) or len(text) > MAX_PAYLOAD_CHARS:
        return None
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != PAYLOAD_PREFIX:
        return None
    try:
        form = json.loads(_unb64(parts[1]).decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(form, dict):
        return None
    return form, parts[2]


def day(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None
