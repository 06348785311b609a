"""GET /healthz through the whole CityGate stack, as a ratio to a bare Tornado hello-JSON server.

Run: `make setup && .venv/bin/python bench/bench_healthz.py` (needs `wrk`: apt-get install -y wrk).
Both servers run in the same run on the same machine, one process each, loaded by wrk with 32
connections; the ratio (CityGate / baseline requests per second) is the figure to report.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import report, running_baseline, running_service, wrk  # noqa: E402


def main() -> None:
    with running_baseline() as baseline_url, running_service({"CITYGATE_DEMO_DATA": "false"}) as service_url:
        wrk(baseline_url + "/healthz", seconds=1)  # warm up both
        wrk(service_url + "/healthz", seconds=1)
        baseline = wrk(baseline_url + "/healthz")
        service = wrk(service_url + "/healthz")
    report("healthz", {
        "baseline_rps": round(baseline["rps"]), "citygate_rps": round(service["rps"]),
        "ratio": round(service["rps"] / baseline["rps"], 3),
        "baseline_p99_ms": baseline["p99_ms"], "citygate_p99_ms": service["p99_ms"],
    })


if __name__ == "__main__":
    main()
