"""GET /api/v1/applications/{no} with 100k applications stored, as a ratio to a bare Tornado hello-JSON server.

Run: `make setup && .venv/bin/python bench/bench_applications.py` (part of `make bench`; needs `wrk`:
`apt-get install -y wrk`; `BENCH_SMOKE=1` for a short run). Knobs (environment): BENCH_APPLICATIONS
(stored applications, default 100000), BENCH_MINE (how many of them belong to the benchmark citizen and
are requested in turn, default 1000), BENCH_SECONDS (wrk duration per measurement, default 6),
BENCH_CONNECTIONS (32), BENCH_ROUNDS (interleaved rounds, default 7), BENCH_PIN (default 1 when there are
two cores: the service and the baseline on one core, wrk on the other).

It starts an embedded nx-27017 and redis-server, `python -m server` against them (one process), seeds
the applications straight into the datastore (each submitted and accepted: the document, two timeline
events, a deadline), gives one citizen an access token, then runs wrk against the service (a Lua script
cycles through that citizen's application numbers) and against the hello-JSON baseline in the same
run, 32 connections each. Before measuring, each requested application is read once (those first reads
fill the Redis read-model cache from the datastore; their rate is reported as `first_read_rps`), and the
bench waits until the datastore and Redis are idle again (`datastore_settled_seconds`): nx-27017 keeps a
core busy for a while after a bulk load, which would otherwise be taken from whichever side is measured
next. While measuring, each process keeps rendered bodies, read models and resolved tokens in memory
(models/localcache.py), so most reads make no Redis round trip for the application.
The sides are measured in BENCH_ROUNDS interleaved rounds (baseline, baseline given the route's
requests, baseline on uvloop, service, service /healthz), so a slow spell of this shared machine
falls on all. Reported:
`ratio`, the median of the rounds' ratios (the figure to compare; absolute numbers mean little on a
shared machine), and each round's ratio; requests/s and p50/p99 latency of the median round; non-2xx
answers (must be 0); `ratio_to_authenticated_healthz`: this route against GET /healthz of the service
*with* the bearer token, the floor every authenticated route shares, i.e. what this route itself
costs; and `ratio_same_requests`: the route against the hello-JSON server sent the very same request
stream (the route's paths and the bearer header, which it ignores). Tornado's parser spends about 700
instructions per byte of request line and headers, so the route's longer path and its 68-byte
Authorization line cost ~6% before any of our code runs; `ratio` (against GET /healthz with no header)
charges that to the service, `ratio_same_requests` does not. The service runs on uvloop (its default,
CITYGATE_EVENT_LOOP); the baseline, a bare Tornado server, on the standard library's loop;
`ratio_to_uvloop_baseline` compares the route with the same hello-JSON server on uvloop, i.e. what
the service costs on top of Tornado when both use the same loop.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bson import ObjectId  # noqa: E402
from common import (  # noqa: E402
    LOAD_CPU,
    PINNED,
    SERVER_CPU,
    SMOKE,
    embedded_backing,
    median,
    report,
    running_baseline,
    running_service,
    wait_until_idle,
    wrk,
)
from tornado.httpclient import AsyncHTTPClient  # noqa: E402

from config.settings import Settings  # noqa: E402
from models import applications, deadlines, tokens  # noqa: E402
from models.core.timezone import SHANGHAI  # noqa: E402
from server.context import AppContext  # noqa: E402

TOTAL = int(os.environ.get("BENCH_APPLICATIONS", "5000" if SMOKE else "100000"))
MINE = min(TOTAL, int(os.environ.get("BENCH_MINE", "200" if SMOKE else "1000")))
SECONDS = int(os.environ.get("BENCH_SECONDS", "2" if SMOKE else "6"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1" if SMOKE else "7"))
DB_NAME = "citygate_bench"
BATCH = 2000
EXTRA = dict(e.split("=", 1) for e in os.environ.get("BENCH_EXTRA_ENV", "").split(",") if e)

ITEM = {
    "code": "GA-0001", "name": {"zh-CN": "普通护照签发", "en": "Ordinary passport issuance"}, "department": "gongan",
    "region_code": "330100", "guide": {"promised_time_limit_days": 5},
    "form_schema": {"type": "object", "properties": {"applicant": {"type": "object", "properties": {
        "name": {"type": "string"}, "phone": {"type": "string"}, "id_number": {"type": "string"},
        "address": {"type": "string"}}}, "reason": {"type": "string"}}},
}


def application_pair(number: int, citizen_id: str, start: datetime.datetime) -> tuple[dict, list[dict]]:
    """One submitted-then-accepted application and its two timeline events, as the service stores them."""
    at = start + datetime.timedelta(seconds=number * 7)
    no = f"330100-{at.astimezone(SHANGHAI):%Y%m%d}-{number % 1_000_000:06d}"
    form = {"applicant": {"name": f"市民{number}", "phone": f"139{number:08d}", "id_number": f"33010619900101{number % 10000:04d}",
                          "address": f"杭州市西湖区文三路 {number} 号"}, "reason": "first"}
    attached = {"id_card": [{"file_id": str(ObjectId()), "name": "id.pdf", "size": 120_000,
                             "content_type": "application/pdf", "sha256": "0" * 64, "uploaded_at": at.isoformat()}]}
    document = applications.new_application(no, citizen_id, ITEM, form, attached, {"method": "pickup"}, draft=False, now=at)
    accepted_at = at + datetime.timedelta(hours=2)
    document.update(status="accepted", version=2, accepted_at=accepted_at, updated_at=accepted_at,
                    deadline=deadlines.started(5, accepted_at))
    citizen = {"kind": "citizen", "id": citizen_id}
    events = [applications.timeline_event(no, 1, at, "submit", None, "submitted", citizen),
              applications.timeline_event(no, 2, accepted_at, "accept", "submitted", "accepted",
                                          {"kind": "operator", "id": "bench-operator"}, "材料齐全，予以受理")]
    return document, events


async def seed(mongodb_url: str, redis_url: str) -> tuple[str, list[str]]:
    """TOTAL applications (MINE of them the benchmark citizen's); return that citizen's token and numbers."""
    ctx = AppContext.connect(Settings(mongodb_db=DB_NAME), mongodb_url, redis_url)
    try:
        mine_id = str(ObjectId())
        await ctx.db.citizens.insert_one({"_id": ObjectId(mine_id), "profile": {}, "created_at": ctx.clock()})
        others = [str(ObjectId()) for _ in range(500)]
        chosen = set(random.Random(7).sample(range(TOTAL), MINE))
        start = datetime.datetime(2026, 1, 5, 1, 0, tzinfo=datetime.UTC)
        mine: list[str] = []
        for first in range(0, TOTAL, BATCH):
            documents, events = [], []
            for number in range(first, min(TOTAL, first + BATCH)):
                owner = mine_id if number in chosen else others[number % len(others)]
                document, timeline = application_pair(number, owner, start)
                documents.append(document)
                events += timeline
                if owner == mine_id:
                    mine.append(document["_id"])
            await ctx.db.applications.insert_many(documents, ordered=False)
            await ctx.db.application_events.insert_many(events, ordered=False)
        token = await tokens.issue_access_token(ctx.redis, tokens.Principal("citizen", mine_id), 3 * 3600)
        return token, mine
    finally:
        await ctx.close()


def lua_script(numbers: list[str], directory: str) -> str:
    path = Path(directory) / "applications.lua"
    listed = ",".join(f'"{n}"' for n in numbers)
    path.write_text(f"""local numbers = {{{listed}}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/v1/applications/" .. numbers[(i % #numbers) + 1])
end
""")
    return str(path)


async def cold_pass(service_url: str, token: str, numbers: list[str]) -> float:
    """Fetch each requested application once (32 at a time), as the first readers do; return requests/s."""
    client = AsyncHTTPClient(force_instance=True, max_clients=CONNECTIONS)
    queue = list(numbers)
    began = time.monotonic()

    async def reader() -> None:
        while queue:
            no = queue.pop()
            response = await client.fetch(f"{service_url}/api/v1/applications/{no}", raise_error=False,
                                          headers={"Authorization": f"Bearer {token}"})
            assert response.code == 200, response.code

    await asyncio.gather(*(reader() for _ in range(CONNECTIONS)))
    client.close()
    return len(numbers) / (time.monotonic() - began)


def measure(data_dir: str, mongo: Any, redis: Any) -> dict[str, object]:
    env = {"CITYGATE_MONGODB_URL": mongo.url, "CITYGATE_REDIS_URL": redis.url, "CITYGATE_MONGODB_DB": DB_NAME,
           "CITYGATE_DEMO_DATA": "false", "CITYGATE_ACCESS_TOKEN_TTL_SECONDS": "10800", **EXTRA}
    # The service starts first, so the indexes exist before seeding.
    with running_service(env, cpu=SERVER_CPU) as service_url, running_baseline(SERVER_CPU) as baseline_url, \
            running_baseline(SERVER_CPU, loop="uvloop") as uvloop_baseline_url:
        began = time.monotonic()
        token, numbers = asyncio.run(seed(mongo.url, redis.url))
        seeded_in = time.monotonic() - began
        script = lua_script(numbers, data_dir)
        auth = {"Authorization": f"Bearer {token}"}
        cold_rps = asyncio.run(cold_pass(service_url, token, numbers))  # first reads fill the read-model cache
        settled_in = wait_until_idle([mongo.process.pid, redis.process.pid])
        load = {"connections": CONNECTIONS, "cpu": LOAD_CPU}
        wrk(service_url + "/", seconds=1, headers=auth, script=script, **load)
        wrk(baseline_url + "/healthz", seconds=1, **load)  # warm up both
        rounds: list[dict[str, dict[str, float]]] = []
        for _ in range(ROUNDS):  # interleaved, so a slow spell of this shared machine falls on every side
            rounds.append({
                "baseline": wrk(baseline_url + "/healthz", seconds=SECONDS, **load),
                "baseline_same_requests": wrk(baseline_url + "/", seconds=SECONDS, headers=auth, script=script, **load),
                "baseline_uvloop": wrk(uvloop_baseline_url + "/healthz", seconds=SECONDS, **load),
                "service": wrk(service_url + "/", seconds=SECONDS, headers=auth, script=script, **load),
                # The same stack answering /healthz with the bearer token resolved: the floor under
                # any authenticated route.
                "floor": wrk(service_url + "/healthz", seconds=SECONDS, headers=auth, **load),
            })
    ratios = [r["service"]["rps"] / r["baseline"]["rps"] for r in rounds]
    typical = rounds[ratios.index(sorted(ratios)[len(ratios) // 2])]  # the round with the median ratio
    return {
        "applications_stored": TOTAL, "requested_numbers": len(numbers), "seed_seconds": round(seeded_in, 1),
        "datastore_settled_seconds": round(settled_in, 1), "connections": CONNECTIONS, "rounds": ROUNDS,
        "pinned": PINNED, "ratio": round(median(ratios), 3), "round_ratios": [round(r, 3) for r in ratios],
        "baseline_rps": round(typical["baseline"]["rps"]), "citygate_rps": round(typical["service"]["rps"]),
        "baseline_p99_ms": typical["baseline"]["p99_ms"], "citygate_p50_ms": typical["service"]["p50_ms"],
        "citygate_p99_ms": typical["service"]["p99_ms"],
        "non_2xx": int(sum(r["service"]["non_2xx"] + r["floor"]["non_2xx"] for r in rounds)),
        "first_read_rps": round(cold_rps),
        "ratio_to_authenticated_healthz": round(median([r["service"]["rps"] / r["floor"]["rps"] for r in rounds]), 3),
        "ratio_same_requests": round(median([r["service"]["rps"] / r["baseline_same_requests"]["rps"] for r in rounds]), 3),
        "ratio_to_uvloop_baseline": round(median([r["service"]["rps"] / r["baseline_uvloop"]["rps"] for r in rounds]), 3),
    }


def main() -> None:
    data_dir = tempfile.mkdtemp(prefix="citygate-bench-applications-")
    try:
        with embedded_backing(data_dir) as (mongo, redis):
            report("applications_get", measure(data_dir, mongo, redis))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
