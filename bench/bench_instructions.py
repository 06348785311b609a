"""Instructions per request of GET /api/v1/applications/{no} against the hello-JSON baseline, counted by
callgrind: the same ratio as bench_applications.py, without this shared machine's noise.

Run: `make setup && .venv/bin/python bench/bench_instructions.py` (needs valgrind: apt-get install -y
valgrind; `BENCH_SMOKE=1` for a short run). Knobs: BENCH_APPLICATIONS (stored, default 100000),
BENCH_MINE (requested in turn, default 1000), BENCH_REQUESTS (counted per side, default 1500).

Throughput on a 2-core machine shared with other tenants swings by 10-20% between consecutive
seconds, so a throughput ratio is a median of noisy rounds. Counting the instructions each server
process executes per request does not depend on what else the machine is doing (the same run gives
the same count). Each server runs under `valgrind --tool=callgrind` with counting off; after a warm-up
(each requested application read once, so caches are filled as in a long-running service) counting is
switched on for BENCH_REQUESTS requests on 4 kept-alive connections, then off, and the total is divided
by the number of requests. Reported: instructions per request of the baseline, of the route and of
the service's authenticated /healthz, and `ratio` = baseline / route (the instruction-count analogue
of the throughput ratio; higher is better, 1.0 = as cheap as hello-JSON); and the baseline sent the
route's own requests (its paths and bearer header), with `ratio_same_requests`; and the baseline on
uvloop, the service's default event loop, with `ratio_to_uvloop_baseline`.

What instructions do not show: cache misses, system calls and scheduling, so the throughput ratio
is lower than this one. And under valgrind the service runs ~50 times slower, so its caches with a
lifetime in seconds (resolved tokens: 0.5 s) expire after far fewer requests than in real time: the
count slightly overstates the service's cost.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_applications import DB_NAME, MINE, TOTAL, seed  # noqa: E402
from common import BASELINE_SERVER, ROOT, SMOKE, drive, embedded_backing, free_port, report, wait_for  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300" if SMOKE else "1500"))
CONNECTIONS = 4


def load(port: int, paths: list[str], headers: dict[str, str], count: int) -> None:
    """`count` GETs over CONNECTIONS kept-alive connections, cycling through `paths`; each must be 200."""
    requests = [("GET", paths[n % len(paths)], headers, b"") for n in range(count)]
    failures = asyncio.run(drive(f"http://127.0.0.1:{port}", requests, CONNECTIONS))["failures"]
    if failures:
        raise RuntimeError(f"{failures} of {count} requests were not answered 200")


def counted(command: list[str], env: dict[str, str], port: int, work_dir: str,
            measurements: dict[str, tuple[list[str], dict[str, str]]]) -> dict[str, float]:
    """Start `command` under callgrind; for each named (paths, headers): warm up, count REQUESTS
    requests; return instructions per request by name."""
    out = f"{work_dir}/callgrind.%p"
    process = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                                *command], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    figures: dict[str, float] = {}
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", timeout=900)
        for name, (paths, headers) in measurements.items():
            load(port, paths, headers, max(len(paths), 300))  # every cache on the way filled
            before = dump_total(process.pid, work_dir)
            control(process.pid, "-i", "on")
            load(port, paths, headers, REQUESTS)
            control(process.pid, "-i", "off")
            figures[name] = (dump_total(process.pid, work_dir) - before) / REQUESTS
    finally:
        process.kill()
        process.wait()
    return figures


def control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def dump_total(pid: int, work_dir: str) -> int:
    """Instructions counted in process `pid` so far (callgrind dumps and zeroes on each dump)."""
    control(pid, "-d")
    time.sleep(0.5)
    total = 0
    for path in glob.glob(f"{work_dir}/callgrind.{pid}*"):
        for line in Path(path).read_text(errors="replace").splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
    return total


def measure(work_dir: str, mongodb_url: str, redis_url: str) -> dict[str, object]:
    token, numbers = asyncio.run(seed(mongodb_url, redis_url))
    auth = {"Authorization": f"Bearer {token}"}
    # Plain malloc under valgrind (its advice for CPython), for both sides alike.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGATE_")} | {"PYTHONMALLOC": "malloc"}
    port = free_port()
    paths = [f"/api/v1/applications/{no}" for no in numbers]
    baseline = counted([sys.executable, "-c", BASELINE_SERVER, str(port)], env, port, work_dir,
                       {"hello": (["/healthz"], {}), "hello_same_requests": (paths, auth)})
    port = free_port()
    uvloop_baseline = counted([sys.executable, "-c", BASELINE_SERVER, str(port), "uvloop"], env, port, work_dir,
                              {"hello": (["/healthz"], {})})
    port = free_port()
    env |= {"CITYGATE_PORT": str(port), "CITYGATE_DATA_DIR": work_dir, "CITYGATE_LOG_LEVEL": "WARNING",
            "CITYGATE_MONGODB_URL": mongodb_url, "CITYGATE_REDIS_URL": redis_url, "CITYGATE_MONGODB_DB": DB_NAME,
            "CITYGATE_DEMO_DATA": "false", "CITYGATE_ACCESS_TOKEN_TTL_SECONDS": "10800"}
    service = counted([sys.executable, "-m", "server"], env, port, work_dir, {
        "route": (paths, auth),
        "authenticated_healthz": (["/healthz"], auth),
    })
    return {
        "applications_stored": TOTAL, "requested_numbers": MINE, "requests_counted": REQUESTS,
        "baseline_instructions": round(baseline["hello"]), "route_instructions": round(service["route"]),
        "authenticated_healthz_instructions": round(service["authenticated_healthz"]),
        "ratio": round(baseline["hello"] / service["route"], 3),
        "ratio_to_authenticated_healthz": round(service["authenticated_healthz"] / service["route"], 3),
        "hello_same_requests_instructions": round(baseline["hello_same_requests"]),
        "ratio_same_requests": round(baseline["hello_same_requests"] / service["route"], 3),
        "hello_uvloop_instructions": round(uvloop_baseline["hello"]),
        "ratio_to_uvloop_baseline": round(uvloop_baseline["hello"] / service["route"], 3),
    }


def main() -> None:
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind")
    work_dir = tempfile.mkdtemp(prefix="citygate-bench-instructions-")
    try:
        with embedded_backing(work_dir) as (mongo, redis):
            figures = measure(work_dir, mongo.url, redis.url)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    report("applications_get_instructions", figures)


if __name__ == "__main__":
    main()
