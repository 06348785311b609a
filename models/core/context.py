"""The typed context the domain receives: what every model function may use of the running service.

The server builds one `AppContext` (server/context.py) and hands it to handlers and workers, which
pass it down as `ctx`. The domain knows it only by this protocol, so nothing in `models/` imports
the server, and a test may hand in anything with these attributes.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pymongo import AsyncMongoClient
    from pymongo.asynchronous.database import AsyncDatabase
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from tornado.httpclient import AsyncHTTPClient

    from config.settings import Settings
    from models.crypto import FieldCipher
    from models.localcache import LocalCaches
    from models.ports import ChannelCredentials, FaceVerifier, IdentityProvider, MessageSender, PaymentVendor


class Context(Protocol):
    """Handles to the datastore, Redis, the clock, field encryption, the caches and the ports."""

    settings: Settings
    mongo: AsyncMongoClient
    db: AsyncDatabase
    redis: Redis | RedisCluster  # one node or a cluster (models/core/redisio.py)
    cipher: FieldCipher
    http: AsyncHTTPClient
    # The one clock seam: the time now, aware UTC (tests replace it; see tests/clock_support.py).
    clock: Callable[[], datetime.datetime]
    # Per-feature singletons (the search index, sandbox key material...), keyed by name.
    extras: dict[str, Any]
    caches: LocalCaches
    # The ports (models.ports), wired by the server: by channel kind, and payments by channel name.
    identity_providers: dict[str, IdentityProvider]
    channel_credentials: dict[str, ChannelCredentials]
    message_senders: dict[str, MessageSender]
    payment_gateways: dict[str, PaymentVendor]
    # Real-person verification (刷脸) by channel kind.
    face_verifiers: dict[str, FaceVerifier]
