"""E-licences (电子证照库): licence types, signed licences in their holders' wallets, imports from
elsewhere, revocation, public verification, consent receipts and the holder's access log.

Modules, lowest first: `types` (the catalogue of licence types and their issuing departments),
`signing` (Ed25519 keys that rotate, the canonical form, the QR payload), `store` (licences: issue,
wallet, revoke, verify), `imports` (all-or-nothing batches), `consent` (receipts and the access log).
How an application uses a licence instead of an upload is models.applications.licensed; the whole
model is in docs/licences.md.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from models.core.context import Context
from models.licences import consent, imports, signing, store, types


async def ensure_indexes(db: AsyncDatabase) -> None:
    await store.ensure_indexes(db)
    await consent.ensure_indexes(db)
    await imports.ensure_indexes(db)


async def load_demo(ctx: Context) -> dict[str, Any]:
    """Start-up hook (server/registry.py DEMO_MODULES): the demo licence types and a signing key."""
    loaded = await types.load_types(ctx.db, types.read_types(), ctx.clock())
    key = await signing.ensure_key(ctx)
    return {"licence_types": loaded, "signing_key": key["_id"]}


__all__ = ["consent", "ensure_indexes", "imports", "load_demo", "signing", "store", "types"]
