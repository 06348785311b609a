"""Process-local caches that every worker process invalidates together, through one Redis channel.

A request that finds what it needs in this process's memory makes no Redis round trip, which is
most of what a cheap GET costs. Each cached value may change elsewhere, in this process or another
one; the code that changes it calls `LocalCaches.invalidate`, which evicts the entry here at once
and publishes `{"cache", "keys"}` on `INVALIDATION_CHANNEL`, and every process's subscriber evicts
its own copy when the message arrives (a few milliseconds later).

Redis pub/sub delivers at most once: a message published while a subscriber is reconnecting is
lost. Hence three rules, which keep a stale entry from ever outliving its cache's TTL:
- every entry expires after its cache's short TTL, whatever happens to the messages (an expired
  entry may be revalidated against its source and kept: `last_known`);
- entries are served only while this process's subscription is up, and every (re)subscription
  empties the caches (what was missed meanwhile cannot be known);
- a value fetched before an invalidation is not stored after it (`epoch`: see `LocalCache.put`).
Caches hold positive results only: something that appears (a new token) is seen at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

log = logging.getLogger("citygate.localcache")

INVALIDATION_CHANNEL = "cg:invalidate"
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0


class LocalCache:
    """A bounded map in this process's memory whose entries live at most `ttl_seconds`."""

    def __init__(self, name: str, max_entries: int, ttl_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        # key -> [expires at, value, read since stored]
        self._entries: collections.OrderedDict[str, list[Any]] = collections.OrderedDict()
        self._epoch = 0
        # False while invalidations cannot be heard: then nothing is served or stored.
        self.serving = True

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def epoch(self) -> int:
        """Changes with every eviction; read it before fetching a value you will `put`."""
        return self._epoch

    def get(self, key: str) -> Any | None:
        """The live value under `key`, or None."""
        if not self.serving:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            return None  # kept for `last_known` until evicted or pushed out by newer entries
        entry[2] = True  # read since stored: worth renewing (see `renewable`)
        self._entries.move_to_end(key)  # least recently used goes first when full
        return entry[1]

    def last_known(self, key: str) -> Any | None:
        """The value under `key` even when its lifetime has run out; None once it is evicted or
        cleared, and while not serving. Something to revalidate against the source, never to serve
        as it is: only the lifetime ran out, no invalidation touched it."""
        if not self.serving:
            return None
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def renewable(self, within: float) -> list[tuple[str, Any]]:
        """(key, value) of the entries read since they were stored whose lifetime ends within
        `within` seconds (or has ended): what a refresher may check against the source and `put`
        again, so that reads of them never wait. Entries nobody read are left to expire."""
        if not self.serving:
            return []
        horizon = self._clock() + within
        return [(key, entry[1]) for key, entry in self._entries.items() if entry[2] and entry[0] <= horizon]

    def put(self, key: str, value: Any, epoch: int) -> bool:
        """Keep `value` unless anything was evicted since `epoch` was read (the value may predate
        that change: storing it would bring the old state back). Return whether it was kept."""
        if value is None or not self.serving or epoch != self._epoch:
            return False
        self._entries[key] = [self._clock() + self.ttl_seconds, value, False]
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return True

    def evict(self, keys: Iterable[str]) -> None:
        self._epoch += 1
        for key in keys:
            self._entries.pop(key, None)

    def clear(self) -> None:
        self._epoch += 1
        self._entries.clear()


class LocalCaches:
    """This process's caches by name, and the subscriber that applies other processes' invalidations.

    `start()` with the app, `stop()` with it (`AppContext.close` does). Until the subscription is
    confirmed, and whenever it is down, the caches serve nothing: every read goes to Redis.
    """

    def __init__(self, redis: Redis | RedisCluster, channel: str = INVALIDATION_CHANNEL) -> None:
        self.redis = redis
        self.channel = channel
        self.origin = secrets.token_hex(8)  # our own messages come back; they were applied already
        self._caches: dict[str, LocalCache] = {}
        self._listening = asyncio.Event()
        self._task: asyncio.Task | None = None

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def cache(self, name: str, max_entries: int, ttl_seconds: float) -> LocalCache:
        """The cache called `name`, created on first use with these bounds."""
        found = self._caches.get(name)
        if found is None:
            found = self._caches[name] = LocalCache(name, max_entries, ttl_seconds)
            found.serving = self.listening
        return found

    async def invalidate(self, name: str, keys: Iterable[str]) -> None:
        """Evict `keys` of cache `name` here now and in every other process as soon as they hear it.

        Call it after the change is stored: a process that reads again after evicting must find
        the new state. A failed publish is logged, not raised (the TTL still bounds staleness).
        """
        keys = list(keys)
        if not keys:
            return
        local = self._caches.get(name)
        if local is not None:
            local.evict(keys)
        message = json.dumps({"origin": self.origin, "cache": name, "keys": keys})
        try:
            await self.redis.publish(self.channel, message)
        except RedisError as exc:
            log.warning("could not publish a %s invalidation (%s); other workers catch up within the TTL",
                        name, type(exc).__name__)

    async def start(self, wait_seconds: float = 2.0) -> bool:
        """Start the subscriber; wait up to `wait_seconds` for the subscription (never fail when
        Redis is down: the caches just stay off until it is back). Return whether it is up."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="localcache-invalidations")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout=wait_seconds)
        return self.listening

    async def stop(self, timeout: float = 2.0) -> None:
        task, self._task = self._task, None
        self._deafen()
        if task is None:
            return
        task.cancel()
        # Bounded: closing the subscription must not hold up a shutdown if Redis is unreachable.
        await asyncio.wait({task}, timeout=timeout)

    def _hear(self) -> None:
        for cache in self._caches.values():
            cache.clear()
            cache.serving = True
        self._listening.set()

    def _deafen(self) -> None:
        self._listening.clear()
        for cache in self._caches.values():
            cache.serving = False
            cache.clear()

    def _apply(self, raw: str) -> None:
        try:
            message = json.loads(raw)
            origin, name, keys = message["origin"], message["cache"], message["keys"]
        except (ValueError, TypeError, KeyError):
            log.warning("ignored a malformed message on %s", self.channel)
            return
        cache = self._caches.get(name)
        if cache is not None and origin != self.origin:
            cache.evict(str(k) for k in keys)

    async def _listen(self) -> None:
        delay = RETRY_FIRST_SECONDS
        while True:
            pubsub = None
            try:
                # A cluster client must know the slot map first: its pubsub connects to the node
                # serving the channel's slot (PUBLISH reaches every node of a cluster). No-op on one node.
                await self.redis.initialize()
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        # Also after redis-py reconnected on its own: whatever was published in
                        # between is lost, so start from empty caches.
                        self._hear()
                        if delay > RETRY_FIRST_SECONDS:
                            log.info("invalidation channel %s is back; local caches on again", self.channel)
                        delay = RETRY_FIRST_SECONDS
                    elif message["type"] == "message":
                        self._apply(message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if delay == RETRY_FIRST_SECONDS:
                    log.warning("invalidation channel %s unavailable (%s); local caches off until it is back",
                                self.channel, type(exc).__name__)
                self._deafen()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
