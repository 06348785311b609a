"""GET /healthz through the whole CityGate stack, as a ratio to a bare Tornado hello-JSON server.

Run: `make setup && .venv/bin/python bench/bench_healthz.py` (needs `wrk`: apt-get install -y wrk).
Both servers run in the same run on the same machine, one process each (on one core, wrk on the
other, when pinning is on: see common.py), loaded by wrk with 32 connections in BENCH_ROUNDS
interleaved rounds (default 3); the median of the rounds' ratios (CityGate / baseline requests per
second) is the figure to report. The service runs on uvloop (CITYGATE_EVENT_LOOP), the baseline on the
standard library's loop; `ratio_to_uvloop_baseline` uses the same hello-JSON server on uvloop.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import LOAD_CPU, SERVER_CPU, SMOKE, median, report, running_baseline, running_service, wrk  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1" if SMOKE else "3"))


def main() -> None:
    with running_baseline(SERVER_CPU) as baseline_url, running_baseline(SERVER_CPU, loop="uvloop") as uvloop_url, \
            running_service({"CITYGATE_DEMO_DATA": "false"}, cpu=SERVER_CPU) as service_url:
        for url in (baseline_url, uvloop_url, service_url):  # warm up
            wrk(url + "/healthz", seconds=1, cpu=LOAD_CPU)
        rounds = [tuple(wrk(url + "/healthz", cpu=LOAD_CPU) for url in (baseline_url, uvloop_url, service_url))
                  for _ in range(ROUNDS)]
    ratios = [service["rps"] / baseline["rps"] for baseline, _, service in rounds]
    baseline, _, service = rounds[ratios.index(sorted(ratios)[len(ratios) // 2])]
    report("healthz", {
        "ratio": round(median(ratios), 3), "round_ratios": [round(r, 3) for r in ratios],
        "baseline_rps": round(baseline["rps"]), "citygate_rps": round(service["rps"]),
        "baseline_p99_ms": baseline["p99_ms"], "citygate_p99_ms": service["p99_ms"],
        # The service runs on uvloop by default; this compares it with hello-JSON on the same loop.
        "ratio_to_uvloop_baseline": round(median([service["rps"] / uvloop["rps"] for _, uvloop, service in rounds]), 3),
    })


if __name__ == "__main__":
    main()
