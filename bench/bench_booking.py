"""Bookings per second at contention: many citizens racing for the places of one time slot.

Run: `make setup && .venv/bin/python bench/bench_booking.py` (part of `make bench`; `BENCH_SMOKE=1` for a
short run). Knobs (environment): BENCH_WORKERS (server processes, default 2), BENCH_CITIZENS (booking
attempts, one per citizen, default 3000), BENCH_PLACES (places in the hot slot, default 1000),
BENCH_CONCURRENCY (requests in flight, default 64).

It starts an embedded nx-27017 and redis-server, `python -m server --workers N` against them, seeds one
hall whose only slot on the next working day has BENCH_PLACES places and BENCH_CITIZENS citizens with
access tokens (straight into the datastore), then fires every citizen's POST /api/v1/appointments at
that one slot. Every attempt hits the same place counter: the first BENCH_PLACES get 201, the rest
409 `slot_full`. It checks that exactly BENCH_PLACES were booked, then reports:
- `bookings_per_s`: places handed out per second while the slot was filling (contended successes);
- `attempts_per_s`: all answers (201 + 409) per second over the whole run;
- `full_answers_per_s`: 409 `slot_full` answers per second once the slot was full;
- latency percentiles, and `ratio_to_healthz`: attempts/s over GET /healthz/s, measured by the same
  client at the same concurrency in the same run (absolute figures mean little on a shared machine).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bson import ObjectId  # noqa: E402
from common import SMOKE, embedded_backing, report, running_service  # noqa: E402
from tornado.httpclient import AsyncHTTPClient, HTTPRequest  # noqa: E402

from config.settings import Settings  # noqa: E402
from models import appointments, operators, tokens  # noqa: E402
from models.core.timezone import SHANGHAI  # noqa: E402
from models.workdays import next_workday  # noqa: E402
from server.context import AppContext  # noqa: E402

WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CITIZENS = int(os.environ.get("BENCH_CITIZENS", "300" if SMOKE else "3000"))
PLACES = int(os.environ.get("BENCH_PLACES", "30" if SMOKE else "1000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "64"))
DB_NAME = "citygate_bench"


async def seed(mongodb_url: str, redis_url: str) -> tuple[str, str, list[str]]:
    """A hall with one hot slot on the next working day, and CITIZENS citizens with tokens."""
    ctx = AppContext.connect(Settings(mongodb_db=DB_NAME), mongodb_url, redis_url)
    try:
        await operators.upsert_operator(ctx.db, "bench", "bench-password", ["platform_admin"])
        day = next_workday(datetime.datetime.now(datetime.UTC).astimezone(SHANGHAI).date())
        hall = await appointments.create_hall(ctx, {
            "name": "压测大厅", "address": "压测路 1 号", "windows": [{"number": "1", "service_codes": ["GA-0001"]}]})
        await appointments.set_exception(ctx, hall["id"], day.isoformat(),
                                         {"slots": [{"start": "10:00", "end": "10:30", "quota": PLACES}]})
        ids = [ObjectId() for _ in range(CITIZENS)]
        await ctx.db.citizens.insert_many([{"_id": c, "profile": {}, "identities": []} for c in ids])
        access = []
        for first in range(0, CITIZENS, 50):
            access += await asyncio.gather(*(tokens.issue_access_token(ctx.redis, tokens.Principal("citizen", str(c)), 3600)
                                             for c in ids[first:first + 50]))
        return hall["id"], day.isoformat(), access
    finally:
        await ctx.close()


async def fire(requests: list[HTTPRequest]) -> tuple[float, list[tuple[float, int, str | None, float]]]:
    """Send every request with CONCURRENCY in flight; return (elapsed, [(finished_at, status, code, latency)])."""
    client = AsyncHTTPClient(force_instance=True, max_clients=CONCURRENCY)
    queue = list(reversed(requests))
    results: list[tuple[float, int, str | None, float]] = []
    started = time.monotonic()

    async def lane() -> None:
        while queue:
            request = queue.pop()
            sent = time.monotonic()
            response = await client.fetch(request, raise_error=False)
            done = time.monotonic()
            code = None
            if response.code >= 400 and response.body:
                try:
                    code = json.loads(response.body).get("code")
                except ValueError:
                    code = "unparsable"
            results.append((done - started, response.code, code, (done - sent) * 1000))

    try:
        await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    finally:
        client.close()
    return time.monotonic() - started, results


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1) if ordered else 0.0


async def measure(base_url: str, hall_id: str, day: str, access: list[str]) -> dict[str, object]:
    healthz = [HTTPRequest(base_url + "/healthz") for _ in range(min(CITIZENS, 2000))]
    await fire(healthz[:200])  # warm up
    health_elapsed, _ = await fire(healthz)
    body = json.dumps({"service_code": "GA-0001", "hall_id": hall_id, "date": day, "slot_id": "1000"})
    bookings = [HTTPRequest(base_url + "/api/v1/appointments", method="POST", body=body, request_timeout=120,
                            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                for token in access]
    elapsed, results = await fire(bookings)
    booked = [r for r in results if r[1] == 201]
    full = [r for r in results if r[1] == 409 and r[2] == "slot_full"]
    other = len(results) - len(booked) - len(full)
    if len(booked) != min(PLACES, CITIZENS) or other:
        raise SystemExit(f"WRONG: {len(booked)} booked for {PLACES} places, {other} unexpected answers")
    filled_at = max(r[0] for r in booked)
    after = [r for r in full if r[0] > filled_at]
    return {
        "workers": WORKERS, "citizens": CITIZENS, "places": PLACES, "concurrency": CONCURRENCY,
        "bookings_per_s": round(len(booked) / filled_at, 1),
        "attempts_per_s": round(len(results) / elapsed, 1),
        "full_answers_per_s": round(len(after) / (elapsed - filled_at), 1) if after and elapsed > filled_at else None,
        "healthz_per_s": round(len(healthz) / health_elapsed, 1),
        "ratio_to_healthz": round((len(results) / elapsed) / (len(healthz) / health_elapsed), 3),
        "booking_p50_ms": percentile([r[3] for r in booked], 0.5), "booking_p99_ms": percentile([r[3] for r in booked], 0.99),
        "slot_full_p50_ms": percentile([r[3] for r in full], 0.5), "slot_full_p99_ms": percentile([r[3] for r in full], 0.99),
        "exactly_places_booked": True,
    }


def main() -> None:
    data_dir = tempfile.mkdtemp(prefix="citygate-bench-booking-")
    try:
        with embedded_backing(data_dir) as (mongo, redis):
            hall_id, day, access = asyncio.run(seed(mongo.url, redis.url))
            env = {"CITYGATE_MONGODB_URL": mongo.url, "CITYGATE_REDIS_URL": redis.url, "CITYGATE_MONGODB_DB": DB_NAME,
                   "CITYGATE_DEMO_DATA": "false", "CITYGATE_BACKGROUND_WORKERS": "false"}
            with running_service(env, workers=WORKERS) as base_url:
                report("booking", asyncio.run(measure(base_url, hall_id, day, access)))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
