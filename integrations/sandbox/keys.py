"""The sandbox's key material: generated once, kept in MongoDB, published at GET /sandbox/keys.

Any sandbox module gets its signing key with `await rsa_private_key_pem(ctx, "alipay_gateway")`:
the first call creates it (shared by every worker through the `sandbox_keys` collection) and
GET /sandbox/keys lists its public half. Material that is not an RSA key pair (certificates,
serial numbers, the demo channels' public keys) is published through `register_material(name,
provider)`, where `provider(ctx)` returns a JSON-ready dict.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.errors import DuplicateKeyError

from integrations import rsa_keys
from integrations.sandbox.base import SandboxHandler
from models.core.context import Context

MaterialProvider = Callable[[Any], Awaitable[Any]]  # provider(ctx) -> JSON-ready value
_PROVIDERS: dict[str, MaterialProvider] = {}
# RSA generation takes ~70 ms; each test run uses a fresh database, so a process reuses the key it
# generated first for a given name (a key is still persisted per database, as in a real start).
_GENERATED: dict[str, str] = {}
_CACHE_KEY = "sandbox_keys"


def register_material(name: str, provider: MaterialProvider) -> None:
    """Publish `await provider(ctx)` under `name` in GET /sandbox/keys."""
    _PROVIDERS[name] = provider


def process_private_key_pem(name: str) -> str:
    """An RSA private key (PEM) generated once per process for `name`."""
    if name not in _GENERATED:
        _GENERATED[name] = rsa_keys.generate_private_key_pem()
    return _GENERATED[name]


def public_pem_of(private_pem: str) -> str:
    """The public half (PEM) of a sandbox private key."""
    return rsa_keys.public_key_pem(rsa_keys.load_private_key(private_pem))


async def rsa_private_key_pem(ctx: Context, name: str) -> str:
    """The sandbox's RSA private key called `name`, created on first use."""
    cache: dict[str, str] = ctx.extras.setdefault(_CACHE_KEY, {})
    if name in cache:
        return cache[name]
    doc = await ctx.db.sandbox_keys.find_one({"_id": name})
    if doc is None:
        private_pem = process_private_key_pem(name)
        try:
            await ctx.db.sandbox_keys.insert_one({
                "_id": name, "algorithm": "RSA-2048",
                "private_key": ctx.cipher.encrypt(private_pem, f"sandbox_key:{name}"),
                "public_key_pem": public_pem_of(private_pem), "created_at": ctx.clock(),
            })
        except DuplicateKeyError:  # another worker created it first: use theirs
            doc = await ctx.db.sandbox_keys.find_one({"_id": name})
    if doc is not None:
        private_pem = ctx.cipher.decrypt(doc["private_key"], f"sandbox_key:{name}")
    cache[name] = private_pem
    return private_pem


async def published_keys(ctx: Context) -> dict[str, Any]:
    """Every public key of the sandbox, plus each registered provider's material."""
    keys = {doc["_id"]: {"algorithm": doc.get("algorithm", "RSA-2048"), "public_key_pem": doc["public_key_pem"]}
            async for doc in ctx.db.sandbox_keys.find({}, {"algorithm": 1, "public_key_pem": 1})}
    material = {name: await provider(ctx) for name, provider in sorted(_PROVIDERS.items())}
    return {"keys": keys, **material}


async def _demo_channel_material(ctx: Context) -> list[dict[str, Any]]:
    """Public key material of the channels (never their secrets)."""
    channels = []
    async for doc in ctx.db.channels.find({}, {"kind": 1, "app_id": 1, "api_base_url": 1, "public": 1}):
        channels.append({"id": doc["_id"], "kind": doc["kind"], "app_id": doc["app_id"],
                         "api_base_url": doc.get("api_base_url", ""), "public": doc.get("public") or {}})
    return channels


register_material("channels", _demo_channel_material)


class SandboxKeysHandler(SandboxHandler):
    """The sandbox's public keys and the channels' public key material, for interop tests."""

    async def get(self) -> None:
        self.write_json(await published_keys(self.ctx))


routes = [(r"/sandbox/keys", SandboxKeysHandler)]
