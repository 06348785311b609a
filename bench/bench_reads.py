"""The citizen reads, each as a ratio to a bare Tornado hello-JSON server; optionally beside another checkout.

Run: `make setup && .venv/bin/python bench/bench_reads.py` (part of `make bench`; needs `wrk`;
`BENCH_SMOKE=1` for a short run). Side by side with another checkout, e.g. the commit before a change:

    git worktree add /tmp/wt-old <commit> && ln -s "$PWD/.venv" /tmp/wt-old/.venv
    BENCH_OTHER_TREE=/tmp/wt-old .venv/bin/python bench/bench_reads.py

Knobs (environment): BENCH_APPLICATIONS (stored, default 100000), BENCH_MINE (the citizen's, requested
in turn, 1000), BENCH_PROGRESS_NUMBERS (5000), BENCH_SECONDS (per measurement, 5), BENCH_ROUNDS (5),
BENCH_CONNECTIONS (32), BENCH_PIN (as in bench/common.py), BENCH_READS, BENCH_OTHER_TREE.

Reads measured (BENCH_READS picks some, comma-separated):
- `my_application`: GET /api/v1/applications/{no}, the citizen's own, cycling through BENCH_MINE numbers;
- `my_list`: GET /api/v1/applications, the first page of another citizen's list of BENCH_LISTED (20)
  applications. The list is read from the datastore at each request, and nx-27017 counts the citizen's
  applications by scanning the whole collection (~0.6-0.9 s with 100k stored, whatever the citizen
  owns): the figure is the datastore's, ~0.001x in any tree, and is taken over BENCH_LIST_CONNECTIONS
  (1) connection, as 32 queue past wrk's 2-second timeout and it would count no answer at all;
- `search`: GET /api/v1/services?q=..., cycling through everyday queries, anonymous;
- `guide`: GET /api/v1/services/{code}, cycling through every published item, anonymous;
- `departments`: GET /api/v1/departments, the navigation list (with item counts), anonymous;
- `progress`: GET /api/v1/progress?application_no=&query_code=, anonymous, cycling through
  BENCH_PROGRESS_NUMBERS applications.
Public progress allows 30 lookups per client address a minute and 20 per number in ten minutes, and
neither limit is a setting. So each service trusts X-Real-IP (CITYGATE_TRUST_PROXY_HEADERS, as behind
the proxy it runs behind), each request comes from one of 4,096 addresses, and the bench deletes the
progress rate-limit counters before each progress measurement: every lookup still counts itself in
Redis (the limit's cost stays in the figure), none is refused.

Each service is `python -m server` as `make run` starts it (demo catalogue and demo settings), on its own
embedded nx-27017 and redis-server, one process, with BENCH_APPLICATIONS applications seeded straight
into the datastore (as bench/bench_applications.py does; with another tree, the very same documents go
into both). Before measuring, every path a read requests is fetched once from each service (the first
reads fill the read-model caches) and the bench waits until the backing servers are idle.

In each of BENCH_ROUNDS rounds, for each read: the baseline (GET /healthz), this service, and the other
one (its turn alternates, first or second, from round to round), BENCH_SECONDS each, BENCH_CONNECTIONS
(32) connections.
Reported per read: `ratio` (this service's requests/s over the baseline's in the same round, median of
rounds) and each round's; requests/s and p50/p99 of the median round, and the baseline's p99 there;
`non_2xx` (must be 0: the bench exits 1 otherwise); with another tree also `other_ratio`, `this_over_other` (median of the
rounds' this/other requests/s: above 1 means this tree is faster) and `same_answer` (both answered the
read's first request with the same JSON). A read that answered nothing within wrk's timeout, or a first
read that did not answer 200 (`first_read_failures`), also makes it exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis as redis_client  # noqa: E402
from bench_applications import application_pair  # noqa: E402
from bson import ObjectId  # noqa: E402
from common import (  # noqa: E402
    LOAD_CPU,
    PINNED,
    SERVER_CPU,
    SMOKE,
    drive,
    embedded_backing,
    free_port,
    median,
    pin,
    report,
    running_baseline,
    running_service,
    wait_for,
    wait_until_idle,
    wrk,
)

from config.settings import Settings  # noqa: E402
from models import tokens  # noqa: E402
from server.context import AppContext  # noqa: E402

TOTAL = int(os.environ.get("BENCH_APPLICATIONS", "5000" if SMOKE else "100000"))
MINE = min(TOTAL, int(os.environ.get("BENCH_MINE", "200" if SMOKE else "1000")))
LISTED = min(TOTAL - MINE, int(os.environ.get("BENCH_LISTED", "20")))
PROGRESS_NUMBERS = min(TOTAL, int(os.environ.get("BENCH_PROGRESS_NUMBERS", "1000" if SMOKE else "5000")))
SECONDS = int(os.environ.get("BENCH_SECONDS", "2" if SMOKE else "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
READ_CONNECTIONS = {"my_list": int(os.environ.get("BENCH_LIST_CONNECTIONS", "1"))}
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1" if SMOKE else "5"))
OTHER_TREE = os.environ.get("BENCH_OTHER_TREE", "")
READS = ("my_application", "my_list", "search", "guide", "departments", "progress")
CHOSEN = [r for r in os.environ.get("BENCH_READS", ",".join(READS)).split(",") if r]
DB_NAME = "citygate_bench"
BATCH = 2000
# Each service loads the demo catalogue when it starts: its items' times differ from one service to the other.
LOAD_TIMES = ("published_at", "updated_at")
ADDRESSES = 4096  # progress lookups per address stay far below its 30 a minute
SEARCHES = ["办护照", "换驾照", "社保", "居住证", "上户口", "社保卡丢了", "取公积金", "二手房过户", "失业金", "开公司",
            "违章罚款", "低保", "异地就医", "身份证丢了", "辦護照", "huzhao", "passport", "办护照需要什么材料"]
SERVICE_ENV = {"CITYGATE_MONGODB_DB": DB_NAME, "CITYGATE_DEMO_DATA": "true", "CITYGATE_SANDBOX_ENABLED": "true",
               "CITYGATE_ACCESS_TOKEN_TTL_SECONDS": "10800", "CITYGATE_TRUST_PROXY_HEADERS": "true"}


@contextlib.contextmanager
def running_other_service(tree: Path, extra_env: dict[str, str], cpu: str | None) -> Iterator[str]:
    """`python -m server` of another checkout, with its own `.venv`, started as common.running_service
    starts this one's; yield its base URL."""
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="citygate-bench-other-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGATE_")}
    env.update({"CITYGATE_PORT": str(port), "CITYGATE_DATA_DIR": data_dir, "CITYGATE_LOG_LEVEL": "WARNING", **extra_env})
    process = subprocess.Popen([str(tree / ".venv" / "bin" / "python"), "-m", "server", "--workers", "1"], cwd=tree,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        pin(process.pid, cpu)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


async def seed(backings: list[tuple[Any, Any]]) -> tuple[list[dict[str, str]], list[str], list[tuple[str, str]]]:
    """The same TOTAL applications into every backing (MINE of them one citizen's, LISTED another's);
    return per backing an access token of each of them by the read it serves, the first one's numbers,
    and (number, query code) for progress lookups."""
    contexts = [AppContext.connect(Settings(mongodb_db=DB_NAME), mongo.url, redis.url) for mongo, redis in backings]
    try:
        citizen_id, lister_id = str(ObjectId()), str(ObjectId())
        for ctx in contexts:
            await ctx.db.citizens.insert_many([{"_id": ObjectId(c), "profile": {}, "created_at": ctx.clock()}
                                               for c in (citizen_id, lister_id)])
        others = [str(ObjectId()) for _ in range(500)]
        picked = random.Random(7).sample(range(TOTAL), MINE + LISTED)
        owners = {**{n: lister_id for n in picked[MINE:]}, **{n: citizen_id for n in picked[:MINE]}}
        looked_up = set(random.Random(11).sample(range(TOTAL), PROGRESS_NUMBERS))
        start = datetime.datetime(2026, 1, 5, 1, 0, tzinfo=datetime.UTC)
        mine: list[str] = []
        progress: list[tuple[str, str]] = []
        for first in range(0, TOTAL, BATCH):
            documents, events = [], []
            for number in range(first, min(TOTAL, first + BATCH)):
                document, timeline = application_pair(number, owners.get(number, others[number % 500]), start)
                documents.append(document)
                events += timeline
                if owners.get(number) == citizen_id:
                    mine.append(document["_id"])
                if number in looked_up:
                    progress.append((document["_id"], document["query_code"]))
            for ctx in contexts:  # the event ids pymongo adds on the first insert go into every backing alike
                await ctx.db.applications.insert_many(documents, ordered=False)
                await ctx.db.application_events.insert_many(events, ordered=False)
        access = [{read: await tokens.issue_access_token(ctx.redis, tokens.Principal("citizen", owner), 3 * 3600)
                   for read, owner in (("my_application", citizen_id), ("my_list", lister_id))} for ctx in contexts]
        return access, mine, progress
    finally:
        for ctx in contexts:
            await ctx.close()


def published_codes(service_url: str) -> list[str]:
    """Every published item's code, from the service's own listing."""
    codes: list[str] = []
    page = 1
    while True:
        with urllib.request.urlopen(f"{service_url}/api/v1/services?page_size=100&page={page}") as answer:  # noqa: S310
            listed = json.load(answer)
        codes += [item["code"] for item in listed["items"]]
        if page * listed["page_size"] >= listed["total"]:
            return codes
        page += 1


def lua_script(directory: str, name: str, paths: list[str], rotate_address: bool) -> str:
    """A wrk script cycling through `paths`; with `rotate_address`, each request from the next of
    ADDRESSES client addresses (X-Real-IP) and without wrk's -H headers."""
    path = Path(directory) / f"{name}.lua"
    listed = ",\n".join(json.dumps(p) for p in paths)
    if rotate_address:
        request = f"""  local n = i % {ADDRESSES}
  headers["X-Real-IP"] = string.format("10.0.%d.%d", math.floor(n / 256), n % 256)
  return wrk.format("GET", paths[(i % #paths) + 1], headers)"""
    else:
        request = '  return wrk.format("GET", paths[(i % #paths) + 1])'
    path.write_text(f"""local paths = {{
{listed}
}}
local headers = {{}}
local i = 0
request = function()
  i = i + 1
{request}
end
""")
    return str(path)


def read_paths(mine: list[str], progress: list[tuple[str, str]], codes: list[str]) -> dict[str, list[str]]:
    quote = urllib.parse.quote
    return {
        "my_application": [f"/api/v1/applications/{no}" for no in mine],
        "my_list": ["/api/v1/applications"],
        "search": [f"/api/v1/services?q={quote(q)}" for q in SEARCHES],
        "guide": [f"/api/v1/services/{quote(code)}" for code in codes],
        "departments": ["/api/v1/departments"],
        "progress": [f"/api/v1/progress?application_no={quote(no)}&query_code={quote(code)}" for no, code in progress],
    }


def reset_progress_limits(redis_url: str) -> None:
    """Delete the public progress lookups' rate-limit counters (per address and per number)."""
    client = redis_client.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match="*progress-*", count=5000))
        for first in range(0, len(keys), 5000):
            client.delete(*keys[first:first + 5000])
    finally:
        client.close()


class Side:
    """One service under test: its URL, its citizens' tokens by read, its Redis."""

    def __init__(self, url: str, tokens_by_read: dict[str, str], redis_url: str) -> None:
        self.url, self.tokens, self.redis_url = url, tokens_by_read, redis_url

    def headers(self, read: str, n: int = 0) -> dict[str, str]:
        """Request headers of the `n`th request of `read` (wrk's scripts set the progress address themselves)."""
        if read == "progress":
            return {"X-Real-IP": f"10.1.{n // 256 % 256}.{n % 256}"}
        return {"Authorization": f"Bearer {self.tokens[read]}"} if read in self.tokens else {}

    def first_reads(self, paths: dict[str, list[str]]) -> int:
        """Fetch every path of every read once, as the first readers do; how many did not answer 200."""
        requests = [("GET", path, self.headers(read, n), b"") for read, listed in paths.items()
                    for n, path in enumerate(listed)]
        return int(asyncio.run(drive(self.url, requests, CONNECTIONS))["failures"])

    def answer(self, read: str, path: str) -> Any:
        """The JSON answered to one request of `read`, without the times the demo catalogue was loaded."""
        request = urllib.request.Request(self.url + path, headers=self.headers(read))
        with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
            return json.load(response, object_hook=lambda o: {k: v for k, v in o.items() if k not in LOAD_TIMES})

    def load(self, read: str, script: str, seconds: int = SECONDS) -> dict[str, float]:
        if read == "progress":
            reset_progress_limits(self.redis_url)
        wrk_headers = {} if read == "progress" else self.headers(read)
        return wrk(self.url + "/", seconds=seconds, connections=READ_CONNECTIONS.get(read, CONNECTIONS),
                   headers=wrk_headers, script=script, cpu=LOAD_CPU)


def figure(value: float) -> float:
    """Three significant digits (my list's ratio is a few ten-thousandths)."""
    return float(f"{value:.3g}")


def summary(rounds: list[dict[str, dict[str, float]]], side: str) -> dict[str, Any]:
    ratios = [r[side]["rps"] / r["baseline"]["rps"] for r in rounds]
    typical = rounds[ratios.index(sorted(ratios)[len(ratios) // 2])]
    return {"ratio": figure(median(ratios)), "round_ratios": [figure(x) for x in ratios],
            "rps": round(typical[side]["rps"], 1), "baseline_rps": round(typical["baseline"]["rps"]),
            "p50_ms": typical[side]["p50_ms"], "p99_ms": typical[side]["p99_ms"],
            "baseline_p99_ms": typical["baseline"]["p99_ms"],
            "non_2xx": int(sum(r[side]["non_2xx"] for r in rounds))}


def measure(data_dir: str, backings: list[tuple[Any, Any]]) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        # The services start first, so the indexes exist before seeding.
        urls = [stack.enter_context(running_service({"CITYGATE_MONGODB_URL": backings[0][0].url,
                                                     "CITYGATE_REDIS_URL": backings[0][1].url, **SERVICE_ENV},
                                                    cpu=SERVER_CPU))]
        if OTHER_TREE:
            urls.append(stack.enter_context(running_other_service(
                Path(OTHER_TREE), {"CITYGATE_MONGODB_URL": backings[1][0].url, "CITYGATE_REDIS_URL": backings[1][1].url,
                                   **SERVICE_ENV}, SERVER_CPU)))
        baseline_url = stack.enter_context(running_baseline(SERVER_CPU))
        access, mine, progress = asyncio.run(seed(backings))
        paths = read_paths(mine, progress, published_codes(urls[0]))
        paths = {read: paths[read] for read in CHOSEN}
        scripts = {read: lua_script(data_dir, read, listed, read == "progress") for read, listed in paths.items()}
        sides = [Side(url, by_read, redis.url) for url, by_read, (_, redis) in zip(urls, access, backings, strict=True)]
        first_failures = [side.first_reads(paths) for side in sides]
        same = {read: sides[0].answer(read, listed[0]) == sides[1].answer(read, listed[0])
                for read, listed in paths.items()} if OTHER_TREE else {}
        settled_in = wait_until_idle([p for mongo, redis in backings for p in (mongo.process.pid, redis.process.pid)])
        wrk(baseline_url + "/healthz", seconds=1, connections=CONNECTIONS, cpu=LOAD_CPU)  # warm up every side
        for side in sides:
            for read, script in scripts.items():
                side.load(read, script, seconds=1)
        rounds: dict[str, list[dict[str, dict[str, float]]]] = {read: [] for read in scripts}
        for round_no in range(ROUNDS):  # interleaved, so a slow spell of this shared machine falls on every side
            for read, script in scripts.items():
                figures = {"baseline": wrk(baseline_url + "/healthz", seconds=SECONDS, connections=CONNECTIONS,
                                           cpu=LOAD_CPU)}
                order = ["this", "other"][:len(sides)]
                for name in order if round_no % 2 == 0 else order[::-1]:
                    figures[name] = sides[order.index(name)].load(read, script)
                rounds[read].append(figures)
    results: dict[str, Any] = {}
    for read, measured in rounds.items():
        results[read] = summary(measured, "this")
        if OTHER_TREE:
            other = summary(measured, "other")
            results[read].update({
                "other_ratio": other["ratio"], "other_round_ratios": other["round_ratios"], "other_rps": other["rps"],
                "other_p50_ms": other["p50_ms"], "other_p99_ms": other["p99_ms"], "other_non_2xx": other["non_2xx"],
                "this_over_other": figure(median([r["this"]["rps"] / max(r["other"]["rps"], 1e-9) for r in measured])),
                "same_answer": same[read]})
    return {"other_tree": OTHER_TREE or None, "applications_stored": TOTAL, "mine": len(mine), "listed": LISTED,
            "progress_numbers": len(progress), "seconds": SECONDS, "rounds": ROUNDS, "connections": CONNECTIONS,
            "pinned": PINNED, "first_read_failures": sum(first_failures), "datastore_settled_seconds": round(settled_in, 1),
            "reads": results}


def main() -> int:
    unknown = set(CHOSEN) - set(READS)
    if unknown:
        raise SystemExit(f"BENCH_READS: unknown {', '.join(sorted(unknown))}; choose from {', '.join(READS)}")
    if OTHER_TREE and not (Path(OTHER_TREE) / ".venv" / "bin" / "python").exists():
        raise SystemExit(f"BENCH_OTHER_TREE={OTHER_TREE}: no .venv/bin/python there (symlink this tree's .venv)")
    data_dir = tempfile.mkdtemp(prefix="citygate-bench-reads-")
    try:
        with contextlib.ExitStack() as stack:
            backings = [stack.enter_context(embedded_backing(Path(data_dir) / side))
                        for side in (["this", "other"] if OTHER_TREE else ["this"])]
            figures = measure(data_dir, backings)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report("reads", figures)
    refused = figures["first_read_failures"] + sum(r["non_2xx"] + r.get("other_non_2xx", 0) for r in figures["reads"].values())
    # A read that answered nothing within wrk's 2-second timeout counts as failed too.
    silent = [read for read, r in figures["reads"].items() if not r["rps"] or r.get("other_rps", 1) == 0]
    return 1 if refused or silent else 0


if __name__ == "__main__":
    sys.exit(main())
