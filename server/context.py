"""AppContext: the handles every request and worker needs, built once and passed in."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import BlockingConnectionPool, Redis
from tornado.httpclient import AsyncHTTPClient

from config.settings import Settings, parse_encryption_keys
from models.crypto import FieldCipher
from models.localcache import LocalCaches
from models.ports import ChannelCredentials, IdentityProvider, MessageSender, PaymentVendor
from server.wiring import wire_adapters


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass
class AppContext:
    settings: Settings
    mongo: AsyncMongoClient
    db: AsyncDatabase
    redis: Redis
    cipher: FieldCipher
    http: AsyncHTTPClient
    clock: Callable[[], datetime.datetime] = utcnow
    # Per-feature singletons (e.g. the search index, sandbox key material), keyed by name.
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)
    # In-memory caches invalidated across worker processes; they serve nothing until `caches.start()`.
    caches: LocalCaches = dataclasses.field(init=False)
    # The domain's ports (models.ports), wired by `connect` (server.wiring): identity, channel checks
    # and messages by channel kind; the payment vendors behind the PaymentGateway port by channel name.
    identity_providers: dict[str, IdentityProvider] = dataclasses.field(default_factory=dict)
    channel_credentials: dict[str, ChannelCredentials] = dataclasses.field(default_factory=dict)
    message_senders: dict[str, MessageSender] = dataclasses.field(default_factory=dict)
    payment_gateways: dict[str, PaymentVendor] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.caches = LocalCaches(self.redis)

    @classmethod
    def connect(cls, settings: Settings, mongodb_url: str, redis_url: str, db_name: str | None = None) -> AppContext:
        """Create clients (connections open lazily on first use)."""
        # Writes are acknowledged by a majority of the replica set, so an acknowledged submission or
        # payment survives a failover; a write whose answer was lost is retried once by the driver,
        # which MongoDB applies once (retryable writes). docs/deploy.md, "MongoDB".
        mongo: AsyncMongoClient = AsyncMongoClient(
            mongodb_url, tz_aware=True, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000,
            w="majority", retryWrites=True, retryReads=True,
        )
        # A blocking pool makes a burst beyond max_connections wait for a free connection instead of
        # failing the request ("Too many connections"), which the default pool does.
        pool = BlockingConnectionPool.from_url(redis_url, max_connections=64, timeout=5, decode_responses=True,
                                               socket_timeout=3, socket_connect_timeout=3)
        redis = Redis(connection_pool=pool)
        ctx = cls(
            settings=settings,
            mongo=mongo,
            db=mongo[db_name or settings.mongodb_db],
            redis=redis,
            cipher=FieldCipher(parse_encryption_keys(settings.encryption_keys)),
            http=AsyncHTTPClient(force_instance=True, defaults={"connect_timeout": 3, "request_timeout": 10}),
        )
        wire_adapters(ctx)
        return ctx

    async def close(self) -> None:
        await self.caches.stop()
        self.http.close()
        await self.redis.aclose()
        await self.mongo.close()
