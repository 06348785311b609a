"""Prometheus text metrics kept in process: requests by route and status, latency histogram.

With --workers N each process counts its own requests; a Prometheus scrape through the load
balancer sees one worker at a time, so production scrapes each worker or sums by instance.
"""

from __future__ import annotations

import bisect
import collections
import threading

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: collections.Counter[tuple[str, str, int]] = collections.Counter()
        self.bucket_counts: dict[str, list[int]] = collections.defaultdict(lambda: [0] * (len(LATENCY_BUCKETS) + 1))
        self.latency_sum: collections.Counter[str] = collections.Counter()
        self.latency_count: collections.Counter[str] = collections.Counter()
        self.events: collections.Counter[tuple[str, str]] = collections.Counter()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            self.bucket_counts[route][bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self.latency_sum[route] += seconds
            self.latency_count[route] += 1

    def count_event(self, name: str, outcome: str) -> None:
        """Count a domain event (e.g. notifications sent/failed) for /metrics."""
        with self._lock:
            self.events[(name, outcome)] += 1

    def render(self) -> str:
        lines = [
            "# HELP citygate_http_requests_total HTTP requests by method, route and status.",
            "# TYPE citygate_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), count in sorted(self.requests.items()):
                lines.append(
                    f'citygate_http_requests_total{{method="{method}",route="{_escape(route)}",status="{status}"}} {count}'
                )
            lines += [
                "# HELP citygate_http_request_duration_seconds Request latency by route.",
                "# TYPE citygate_http_request_duration_seconds histogram",
            ]
            for route, counts in sorted(self.bucket_counts.items()):
                label = _escape(route)
                cumulative = 0
                for bound, count in zip(LATENCY_BUCKETS, counts[:-1], strict=True):
                    cumulative += count
                    lines.append(f'citygate_http_request_duration_seconds_bucket{{route="{label}",le="{bound}"}} {cumulative}')
                cumulative += counts[-1]
                lines.append(f'citygate_http_request_duration_seconds_bucket{{route="{label}",le="+Inf"}} {cumulative}')
                lines.append(f'citygate_http_request_duration_seconds_sum{{route="{label}"}} {self.latency_sum[route]:.6f}')
                lines.append(f'citygate_http_request_duration_seconds_count{{route="{label}"}} {self.latency_count[route]}')
            lines += ["# HELP citygate_events_total Domain events by name and outcome.", "# TYPE citygate_events_total counter"]
            for (name, outcome), count in sorted(self.events.items()):
                lines.append(f'citygate_events_total{{name="{name}",outcome="{outcome}"}} {count}')
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
