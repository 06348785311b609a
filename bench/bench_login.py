"""WeChat logins per second against the sandbox, as a ratio to GET /healthz in the same run.

Run: `make setup && .venv/bin/python bench/bench_login.py` (`BENCH_SMOKE=1` for a short run).

It starts `python -m server` (embedded MongoDB and Redis, demo data, so the demo WeChat channel
points at the sandbox on the same port) and drives it with a small asyncio HTTP/1.1 keep-alive
client: first GET /healthz, then POST /api/v1/auth/wechat/login with codes minted beforehand by the
sandbox's test helper (not timed). Each login is the whole path: code2Session over HTTP to the
sandbox (which is served by the same process, so its cost counts too), identity lookup and claim in
MongoDB, rate-limit counters and the access token in Redis, the refresh family in MongoDB.
wrk is not used because each login needs a fresh single-use code. The figure to report is the
ratio (logins/s ÷ healthz/s): this machine is shared, absolute numbers mean little.
"""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SMOKE, drive, exchange, report, running_service  # noqa: E402

CONCURRENCY = 16
HEALTHZ_REQUESTS = 300 if SMOKE else 4000
LOGIN_REQUESTS = 60 if SMOKE else 1500
CITIZENS = 200  # logins cycle over this many people: the first login of each creates the citizen
APP_ID = "wxdemo0000000001"
JSON_HEADERS = {"Content-Type": "application/json"}


async def load(base_url: str, requests: list[tuple[str, str, bytes]]) -> dict[str, float]:
    """Send `requests` (JSON bodies) over CONCURRENCY connections; requests per second and latencies."""
    return await drive(base_url, [(method, path, JSON_HEADERS, body) for method, path, body in requests], CONCURRENCY)


async def mint_codes(base_url: str, count: int) -> list[str]:
    """Single-use wx.login codes from the sandbox's test helper (setup, not timed)."""
    parsed = urllib.parse.urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
    codes = []
    try:
        for number in range(count):
            body = json.dumps({"app_id": APP_ID, "openid": f"o-bench-{number % CITIZENS:04d}"}).encode()
            status, answer = await exchange(reader, writer, "POST", "/sandbox/wechat/test/login-code", JSON_HEADERS, body)
            if status != 200:
                raise SystemExit(f"minting a login code failed: {status} {answer[:200]!r}")
            codes.append(json.loads(answer)["code"])
    finally:
        writer.close()
    return codes


async def measure(base_url: str) -> dict[str, object]:
    await load(base_url, [("GET", "/healthz", b"")] * 200)  # warm up
    healthz = await load(base_url, [("GET", "/healthz", b"")] * HEALTHZ_REQUESTS)
    warmup_codes = await mint_codes(base_url, 20)
    await load(base_url, [("POST", "/api/v1/auth/wechat/login",
                           json.dumps({"code": c, "app_id": APP_ID}).encode()) for c in warmup_codes])
    codes = await mint_codes(base_url, LOGIN_REQUESTS)
    logins = await load(base_url, [("POST", "/api/v1/auth/wechat/login",
                                    json.dumps({"code": c, "app_id": APP_ID}).encode()) for c in codes])
    return {
        "healthz_rps": round(healthz["rps"]), "login_rps": round(logins["rps"], 1),
        "ratio": round(logins["rps"] / healthz["rps"], 3),
        "login_p50_ms": round(logins["p50_ms"], 1), "login_p99_ms": round(logins["p99_ms"], 1),
        "healthz_p99_ms": round(healthz["p99_ms"], 1),
        "login_failures": logins["failures"], "logins": LOGIN_REQUESTS, "concurrency": CONCURRENCY,
    }


def main() -> None:
    # Every login here comes from one address: lift the login rate limits for the measurement.
    with running_service({"CITYGATE_LOGIN_RATE_LIMIT_PER_MINUTE": "100000000"}) as base_url:
        figures = asyncio.run(measure(base_url))
    report("login", figures)
    if figures["login_failures"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
