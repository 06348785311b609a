"""Redis, written once for one node and a Redis Cluster alike: key names that keep multi-key
operations in one slot, reads across slots, and which failures mean "Redis is unreachable".

A cluster places each key in one of 16384 slots by a hash of its name, or of the part of its name
between the first `{` and the next `}` (its hash tag). A multi-key operation (MGET, a Lua script
with several KEYS, a MULTI/EXEC transaction) must keep to one slot, so keys used together carry the
same tag (`tagged`); an operation over many unrelated keys goes slot by slot (`mget_across_slots`;
redis-py's cluster client splits DEL of several keys itself). docs/deploy.md, "Redis", lists each
key family and its tag.
"""

from __future__ import annotations

import hashlib
from typing import Any

from redis.exceptions import (
    ClusterError,
    ConnectionError,
    ReadOnlyError,
    SlotNotCoveredError,
    TimeoutError,
    TryAgainError,
)

# Redis (or the part of a cluster serving a key) is down, unreachable, loading, or failing over: the
# request may succeed later (503 with Retry-After: handlers/base.py). Any other error is a bug.
UNREACHABLE = (ConnectionError, TimeoutError, ClusterError, TryAgainError, ReadOnlyError, SlotNotCoveredError)


def tagged(prefix: str, value: str) -> str:
    """`prefix{value}`: every key built from the same `value` lands in the same slot.

    A value holding a brace would end (or open) the tag early; such a value is tagged by its digest
    and kept in full after it, so two values never share a key."""
    if "{" not in value and "}" not in value and value:
        return f"{prefix}{{{value}}}"
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"{prefix}{{#{digest}}}{value}"


async def mget_across_slots(redis: Any, keys: list[str]) -> list[str | None]:
    """MGET of keys that may live in different slots: one MGET per slot on a cluster (not atomic
    across slots), one MGET on a single node. Values come back in the order of `keys`."""
    if not keys:
        return []
    if hasattr(redis, "mget_nonatomic"):  # redis.asyncio.cluster.RedisCluster
        return await redis.mget_nonatomic(keys)
    return await redis.mget(keys)


async def ping_everywhere(redis: Any) -> None:
    """PING the one node, or every primary of a cluster (a master down is a cluster down: its slots
    answer nothing); raise when one does not answer."""
    if hasattr(redis, "get_primaries"):  # redis.asyncio.cluster.RedisCluster
        await redis.ping(target_nodes=redis.PRIMARIES)
    else:
        await redis.ping()
