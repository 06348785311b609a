"""Prometheus metrics through prometheus_client: requests by route and status, latency, domain events.

`python -m server --workers N` (N > 1) counts in prometheus_client's multiprocess mode: before it forks its workers,
`start_multiprocess` points the library at a directory where each process keeps its counts in
memory-mapped files, and /metrics, whichever worker answers it, adds up every process's files, so
one scrape covers all workers (and the requests of a worker that has died). An app built without
it, as the tests build theirs, counts in a registry of its own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, values
from prometheus_client.utils import floatToGoString

from config.settings import Settings

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Multiprocess mode writes no `_created` series; without them in-process too, both modes expose the same.
prometheus_client.disable_created_metrics()

# Set in the server process (and so in every worker it forks) by start_multiprocess.
_multiprocess_dir: Path | None = None


def metrics_dir(settings: Settings) -> Path:
    """Where the server on `settings.port` keeps its workers' metric files."""
    # One directory per port: two servers sharing a data directory must not wipe each other's counts.
    return Path(settings.data_dir) / "metrics" / str(settings.port)


def start_multiprocess(directory: Path) -> None:
    """Before forking: empty `directory` and count this process's and its children's metrics there."""
    global _multiprocess_dir
    shutil.rmtree(directory, ignore_errors=True)  # counts of an earlier run would be added to this one's
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    # prometheus_client chose how to store values when first imported, before the settings named the
    # directory; with the variable set it now chooses its memory-mapped files.
    values.ValueClass = values.get_value_class()
    _multiprocess_dir = directory


def mark_worker_dead(pid: int) -> None:
    """A worker has exited: drop what only a live process may report (its counters stay counted)."""
    if _multiprocess_dir is not None:
        multiprocess.mark_process_dead(pid, str(_multiprocess_dir))


class Metrics:
    """The service's metrics: every process's in multiprocess mode, else this app's own."""

    def __init__(self) -> None:
        own = CollectorRegistry()
        self._requests = Counter("citygate_http_requests", "HTTP requests by method, route and status.",
                                 ("method", "route", "status"), registry=own)
        self._latency = Histogram("citygate_http_request_duration_seconds", "Request latency by route.",
                                  ("route",), buckets=LATENCY_BUCKETS, registry=own)
        self._events = Counter("citygate_events", "Domain events by name and outcome.", ("name", "outcome"),
                               registry=own)
        self._exposed = own
        if _multiprocess_dir is not None:
            self._exposed = CollectorRegistry()
            multiprocess.MultiProcessCollector(self._exposed, str(_multiprocess_dir))
        # labels() takes a lock and builds a key on every call; a request's series are looked up once.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = (self._requests.labels(method, route, str(status)), self._latency.labels(route))
            self._series[(method, route, status)] = series
        series[0].inc()
        series[1].observe(seconds)

    def count_event(self, name: str, outcome: str) -> None:
        """Count a domain event (e.g. notifications sent/failed) for /metrics."""
        self._events.labels(name, outcome).inc()

    def render(self) -> str:
        """Prometheus text format 0.0.4."""
        return exposition(self._exposed)


def exposition(registry: CollectorRegistry) -> str:
    """`generate_latest`'s text, but each sample's labels in the order the metric declares them.

    generate_latest sorts label names, so a bucket would read `{le="+Inf",route="/healthz"}`; /metrics
    has always written `{route="/healthz",le="+Inf"}`, and lines matched whole (by tests, by grep in
    a runbook) keep matching. Prometheus itself reads either.
    """
    lines: list[str] = []
    for family in registry.collect():
        name = family.name + "_total" if family.type == "counter" else family.name
        lines.append(f"# HELP {name} {family.documentation}")  # ours: one line, no backslash
        lines.append(f"# TYPE {name} {family.type}")
        for sample in family.samples:
            labels = ",".join(f'{key}="{_escape(value)}"' for key, value in sample.labels.items())
            lines.append(f"{sample.name}{{{labels}}} {floatToGoString(sample.value)}" if labels
                         else f"{sample.name} {floatToGoString(sample.value)}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
