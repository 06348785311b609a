"""One load run at scale: every hot operation beside Tornado hello-JSON, one instance and then two.

Run: `make setup && .venv/bin/python bench/bench_load.py` (needs `wrk`; `BENCH_SMOKE=1` for a short run
on small data). docs/performance.md holds the figures of a run and how to read them.

It starts an embedded nx-27017 and redis-server (one datastore, one Redis), lets `python -m server`
create the indexes and load the demo, then seeds straight into the datastore: BENCH_ITEMS (10,000)
published catalogue items (copies of the demo's, each its own code), BENCH_CITIZENS (100,000) citizens
and BENCH_APPLICATIONS (100,000) applications with their timelines. Then, with one instance (one
process) and again with two instances on the same datastore and Redis, it measures:
- reads with wrk (BENCH_CONNECTIONS, 32, per instance): `progress` (number + query code, anonymous,
  from 4,096 client addresses), `guide` (cycling through every published item), `search` (everyday
  queries);
- writes with a Python client (BENCH_CONCURRENCY, 32, per instance): `login` (WeChat code2Session
  through the sandbox, codes minted beforehand), `submission` (POST /api/v1/applications of a
  form-only item, each by another citizen), `payment_callback` (signed, encrypted WeChat Pay
  notifications of BENCH_ORDERS orders, each applied once);
- `booking` at contention: every one of BENCH_BOOKERS citizens races for the BENCH_PLACES places of
  one slot (bench/bench_booking.py's scenario; one instance with two workers, as that bench runs it).
Each figure is taken beside the baseline measured by the same client just before it (a bare Tornado
hello-JSON server on the same core), and reported as `ratio` = operations/s over baseline requests/s,
with p50/p99 and the answers that were not the expected one (`failures`, must be 0).

Also reported: RSS per service process after the run, and datastore round trips per operation, counted
by a wire-protocol proxy (tests/fault_proxy.py) in front of the datastore for a separate instance that
does BENCH_TRIPS_OPS of each operation one at a time (driver monitoring commands not counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from bson import ObjectId

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_applications import application_pair  # noqa: E402
from bench_booking import measure as measure_booking  # noqa: E402
from bench_booking import seed as seed_booking  # noqa: E402
from bench_callbacks import prepare as prepare_callbacks  # noqa: E402
from bench_login import mint_codes  # noqa: E402
from bench_reads import ADDRESSES, SEARCHES, lua_script  # noqa: E402
from common import (  # noqa: E402
    LOAD_CPU,
    PINNED,
    SERVER_CPU,
    SMOKE,
    drive,
    embedded_backing,
    median,
    report,
    running_baseline,
    running_service,
    wait_until_idle,
    wrk,
)

from config.settings import Settings  # noqa: E402
from models import tokens  # noqa: E402
from server.context import AppContext  # noqa: E402

APPLICATIONS = int(os.environ.get("BENCH_APPLICATIONS", "3000" if SMOKE else "100000"))
ITEMS = int(os.environ.get("BENCH_ITEMS", "500" if SMOKE else "10000"))
CITIZENS = int(os.environ.get("BENCH_CITIZENS", "3000" if SMOKE else "100000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "2" if SMOKE else "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
OPERATIONS = int(os.environ.get("BENCH_OPERATIONS", "300" if SMOKE else "2000"))
ORDERS = int(os.environ.get("BENCH_ORDERS", "200" if SMOKE else "1000"))
TRIPS_OPS = int(os.environ.get("BENCH_TRIPS_OPS", "20"))
DB_NAME = "citygate_load"
BATCH = 2000
JSON_HEADERS = {"Content-Type": "application/json"}
APP_ID = "wxdemo0000000001"
# Driver housekeeping, not the operation's own round trips.
MONITORING = {"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo", "saslStart", "saslContinue"}

SUBMITTED_ITEM = {
    "code": "LOAD-0001", "name": {"zh-CN": "压测事项（仅填表）", "en": "Load item (form only)"}, "aliases": [],
    "department": "gongan", "region_code": "330100", "audience": ["personal"], "themes": [],
    "handling_depth": "whole_process_online", "status": "published",
    "guide": {"legal_basis": {"zh-CN": "压测"}, "conditions": {"zh-CN": "无"}, "materials": [],
              "process": [{"zh-CN": "网上提交"}], "legal_time_limit_days": 15, "promised_time_limit_days": 5,
              "fee": {"free": True}, "delivery": {"by_post": False}},
    "form_schema": {"type": "object", "required": ["reason"], "properties": {
        "reason": {"type": "string", "title": "事由", "x-title-en": "Reason", "maxLength": 200}}},
}


def service_env(mongo: Any, redis: Any, **extra: str) -> dict[str, str]:
    return {"CITYGATE_MONGODB_URL": mongo.url, "CITYGATE_REDIS_URL": redis.url, "CITYGATE_MONGODB_DB": DB_NAME,
            "CITYGATE_BACKGROUND_WORKERS": "false", "CITYGATE_TRUST_PROXY_HEADERS": "true",
            "CITYGATE_LOGIN_RATE_LIMIT_PER_MINUTE": "100000000", "CITYGATE_ACCESS_TOKEN_TTL_SECONDS": "10800",
            **extra}


async def seed(mongodb_url: str, redis_url: str) -> dict[str, Any]:
    """The data at scale, straight into the datastore; what the scenarios need to address it."""
    ctx = AppContext.connect(Settings(mongodb_db=DB_NAME), mongodb_url, redis_url)
    began = time.monotonic()
    try:
        demo = await ctx.db.services.find({"status": "published"}).to_list()
        now = datetime.datetime.now(datetime.UTC)
        copies = []
        for number in range(max(0, ITEMS - len(demo) - 1)):
            item = copy.deepcopy(demo[number % len(demo)])
            item.pop("_id", None)
            item["code"] = f"{item['code']}-C{number:05d}"
            copies.append(item)
        for first in range(0, len(copies), BATCH):
            await ctx.db.services.insert_many(copies[first:first + BATCH])
        await ctx.db.services.insert_one({**SUBMITTED_ITEM, "created_at": now, "updated_at": now, "published_at": now})
        citizen_ids = [ObjectId() for _ in range(CITIZENS)]
        for first in range(0, CITIZENS, BATCH):
            await ctx.db.citizens.insert_many([{"_id": c, "profile": {}, "identities": [], "created_at": now}
                                               for c in citizen_ids[first:first + BATCH]])
        start = datetime.datetime(2026, 1, 5, 1, 0, tzinfo=datetime.UTC)
        progress: list[tuple[str, str]] = []
        looked_up = set(random.Random(11).sample(range(APPLICATIONS), min(APPLICATIONS, 5000)))
        for first in range(0, APPLICATIONS, BATCH):
            documents, events = [], []
            for number in range(first, min(APPLICATIONS, first + BATCH)):
                document, timeline = application_pair(number, str(citizen_ids[number % CITIZENS]), start)
                documents.append(document)
                events += timeline
                if number in looked_up:
                    progress.append((document["_id"], document["query_code"]))
            await ctx.db.applications.insert_many(documents, ordered=False)
            await ctx.db.application_events.insert_many(events, ordered=False)
        # Submitting citizens: each submits once per run (per-citizen limits stay out of the figure).
        submitters = []
        for first in range(0, 4 * OPERATIONS + TRIPS_OPS, 50):
            submitters += await asyncio.gather(*(
                tokens.issue_access_token(ctx.redis, tokens.Principal("citizen", str(c)), 3 * 3600)
                for c in citizen_ids[first:min(first + 50, 4 * OPERATIONS + TRIPS_OPS)]))
        codes = [item["code"] for item in await ctx.db.services.find({"status": "published"}, {"code": 1}).to_list()]
        return {"progress": progress, "codes": codes, "submitters": submitters,
                "seconds": round(time.monotonic() - began, 1)}
    finally:
        await ctx.close()


def rss_of_port(port: int) -> list[int]:
    """Resident memory (MiB) of each service process listening on `port` (the parent and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes()
            if f"CITYGATE_PORT={port}".encode() not in environ or b"server" not in cmdline:
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue
        kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
        found.append(round(kib / 1024))
    return sorted(found)


def together(functions: list[Any]) -> list[Any]:
    """Run blocking measurements at the same time (one per instance); their results in order."""
    results: list[Any] = [None] * len(functions)

    def run(index: int) -> None:
        results[index] = functions[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(functions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def combined(parts: list[dict[str, float]], baseline: dict[str, float], failures_key: str) -> dict[str, Any]:
    rps = sum(part["rps"] for part in parts)
    return {"rps": round(rps, 1), "ratio": round(rps / baseline["rps"], 3),
            "p50_ms": round(median([part["p50_ms"] for part in parts]), 1),
            "p99_ms": round(max(part["p99_ms"] for part in parts), 1),
            "failures": int(sum(part[failures_key] for part in parts)),
            "baseline_rps": round(baseline["rps"]), "baseline_p99_ms": round(baseline["p99_ms"], 1)}


def measure_reads(urls: list[str], baseline_url: str, scripts: dict[str, str]) -> dict[str, Any]:
    figures = {}
    for read, script in scripts.items():
        for url in urls:
            wrk(url + "/", seconds=1, connections=CONNECTIONS, script=script, cpu=LOAD_CPU)  # warm
        baseline = wrk(baseline_url + "/healthz", seconds=SECONDS, connections=CONNECTIONS, cpu=LOAD_CPU)
        parts = together([lambda url=url, script=script: wrk(url + "/", seconds=SECONDS, connections=CONNECTIONS, script=script,
                                               cpu=LOAD_CPU) for url in urls])
        figures[read] = combined(parts, baseline, "non_2xx")
    return figures


def split(calls: list[Any], ways: int) -> list[list[Any]]:
    return [calls[i::ways] for i in range(ways)]


async def drive_all(urls: list[str], calls: list[tuple], accept: Any) -> list[dict[str, float]]:
    return await asyncio.gather(*(drive(url, part, CONCURRENCY, accept)
                                  for url, part in zip(urls, split(calls, len(urls)), strict=True)))


def accept_status(*statuses: int) -> Any:
    return lambda status, _body: status in statuses


async def measure_writes(urls: list[str], baseline_url: str, seeded: dict[str, Any], ctx: AppContext,
                         offset: int) -> dict[str, Any]:
    figures = {}
    healthz = [("GET", "/healthz", {}, b"")]
    await drive(baseline_url, healthz * 200, CONCURRENCY)

    async def baseline() -> dict[str, float]:
        return await drive(baseline_url, healthz * (OPERATIONS * 2), CONCURRENCY)

    codes = await mint_codes(urls[0], OPERATIONS)  # the sandbox keeps codes in the shared Redis
    logins = [("POST", "/api/v1/auth/wechat/login", JSON_HEADERS, json.dumps({"code": c, "app_id": APP_ID}).encode())
              for c in codes]
    base = await baseline()
    figures["login"] = combined(await drive_all(urls, logins, accept_status(200)), base, "failures")

    submitters = seeded["submitters"][offset:offset + OPERATIONS]
    submissions = [("POST", "/api/v1/applications", {**JSON_HEADERS, "Authorization": f"Bearer {token}"},
                    json.dumps({"service_code": "LOAD-0001", "form": {"reason": "压测"}}).encode())
                   for token in submitters]
    base = await baseline()
    figures["submission"] = combined(await drive_all(urls, submissions, accept_status(201)), base, "failures")

    wechat_calls = await fresh_callbacks(ctx, ORDERS)
    base = await baseline()
    figures["payment_callback"] = combined(await drive_all(urls, wechat_calls, accept_status(204)), base, "failures")
    return figures


async def fresh_callbacks(ctx: AppContext, count: int) -> list[tuple]:
    """bench/bench_callbacks.py's pending orders and their WeChat Pay notifications, after removing the
    ones an earlier scenario left (its numbers are fixed)."""
    await ctx.db.applications.delete_many({"_id": {"$regex": "^330100BENCH"}})
    await ctx.db.payment_orders.delete_many({"_id": {"$regex": "^PAYBENCH"}})
    await ctx.db.payment_notifications.delete_many({"order_no": {"$regex": "^PAYBENCH"}})
    return (await prepare_callbacks(ctx, count))[0]


async def round_trips(url: str, seeded: dict[str, Any], ctx: AppContext, proxy: Any) -> dict[str, float]:
    """Datastore commands per operation, one operation at a time through the counting proxy."""
    progress_no, query_code = seeded["progress"][0]
    quote = urllib.parse.quote
    operations: dict[str, list[tuple]] = {
        "guide": [("GET", f"/api/v1/services/{quote(seeded['codes'][i % 50])}", {}, b"") for i in range(TRIPS_OPS)],
        "search": [("GET", f"/api/v1/services?q={quote(SEARCHES[i % len(SEARCHES)])}", {}, b"") for i in range(TRIPS_OPS)],
        "progress": [("GET", f"/api/v1/progress?application_no={quote(progress_no)}&query_code={quote(query_code)}",
                      {"X-Real-IP": f"10.9.0.{i}"}, b"") for i in range(TRIPS_OPS)],
        "login": [("POST", "/api/v1/auth/wechat/login", JSON_HEADERS, json.dumps({"code": c, "app_id": APP_ID}).encode())
                  for c in await mint_codes(url, TRIPS_OPS)],
        "submission": [("POST", "/api/v1/applications", {**JSON_HEADERS, "Authorization": f"Bearer {token}"},
                        json.dumps({"service_code": "LOAD-0001", "form": {"reason": "压测"}}).encode())
                       for token in seeded["submitters"][-TRIPS_OPS:]],
        "payment_callback": await fresh_callbacks(ctx, TRIPS_OPS),
    }
    trips = {}
    for name, calls in operations.items():
        await drive(url, calls[:2], 1)  # first reads fill caches: count the steady state
        before = len([c for c in proxy.commands if c not in MONITORING])
        await drive(url, calls[2:], 1)
        after = len([c for c in proxy.commands if c not in MONITORING])
        trips[name] = round((after - before) / max(1, len(calls) - 2), 2)
    return trips


class ProxyThread:
    """tests/fault_proxy.FaultProxy on a loop of its own, counting the commands that pass."""

    def __init__(self, target_port: int) -> None:
        from tests.fault_proxy import FaultProxy

        self.loop = asyncio.new_event_loop()
        self.proxy = FaultProxy(target_port)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


def main() -> int:
    data_dir = tempfile.mkdtemp(prefix="citygate-bench-load-")
    results: dict[str, Any] = {"applications": APPLICATIONS, "items": ITEMS, "citizens": CITIZENS, "seconds": SECONDS,
                               "connections": CONNECTIONS, "concurrency": CONCURRENCY, "pinned": PINNED}
    try:
        with embedded_backing(data_dir) as (mongo, redis):
            env = service_env(mongo, redis)
            with running_service(env):
                pass  # indexes and the demo catalogue, channels and merchants
            seeded = asyncio.run(seed(mongo.url, redis.url))
            results["seed_seconds"] = seeded["seconds"]
            quote = urllib.parse.quote
            scripts = {
                "progress": lua_script(data_dir, "progress", [
                    f"/api/v1/progress?application_no={quote(no)}&query_code={quote(code)}"
                    for no, code in seeded["progress"]], True),
                "guide": lua_script(data_dir, "guide", [f"/api/v1/services/{quote(c)}" for c in seeded["codes"]], False),
                "search": lua_script(data_dir, "search", [f"/api/v1/services?q={quote(q)}" for q in SEARCHES], False),
            }
            results["addresses"] = ADDRESSES
            results["settled_seconds"] = round(wait_until_idle([mongo.process.pid, redis.process.pid]), 1)
            ctx = AppContext.connect(Settings(mongodb_db=DB_NAME), mongo.url, redis.url)
            with running_baseline(SERVER_CPU) as baseline_url:
                for name, count in (("one_instance", 1), ("two_instances", 2)):
                    with contextlib.ExitStack() as stack:
                        urls = [stack.enter_context(running_service(env, cpu=SERVER_CPU)) for _ in range(count)]
                        section = measure_reads(urls, baseline_url, scripts)
                        offset = 0 if count == 1 else OPERATIONS
                        section.update(asyncio.run(measure_writes(urls, baseline_url, seeded, ctx, offset)))
                        section["rss_mib"] = {url: rss_of_port(urllib.parse.urlsplit(url).port) for url in urls}
                        results[name] = section
            asyncio.run(ctx.close())
            # Round trips: another instance whose datastore connections pass through the counting proxy.
            proxy = ProxyThread(mongo.port)
            try:
                with running_service({**env, "CITYGATE_MONGODB_URL": proxy.proxy.url}) as url:
                    async def count() -> dict[str, float]:
                        counting_ctx = AppContext.connect(Settings(mongodb_db=DB_NAME), mongo.url, redis.url)
                        try:
                            return await round_trips(url, seeded, counting_ctx, proxy.proxy)
                        finally:
                            await counting_ctx.close()
                    results["datastore_round_trips_per_operation"] = asyncio.run(count())
            finally:
                proxy.stop()
            # Booking at contention: bench/bench_booking.py's scenario on the same servers, its own database.
            hall_id, day, access = asyncio.run(seed_booking(mongo.url, redis.url))
            booking_env = {"CITYGATE_MONGODB_URL": mongo.url, "CITYGATE_REDIS_URL": redis.url,
                           "CITYGATE_MONGODB_DB": "citygate_bench", "CITYGATE_DEMO_DATA": "false",
                           "CITYGATE_BACKGROUND_WORKERS": "false"}
            with running_service(booking_env, workers=2) as booking_url:
                results["booking"] = asyncio.run(measure_booking(booking_url, hall_id, day, access))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report("load", results)
    failed = [f"{section}.{name}" for section in ("one_instance", "two_instances")
              for name, figures in results[section].items() if isinstance(figures, dict) and figures.get("failures")]
    if failed:
        print("operations with failures: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
