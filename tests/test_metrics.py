"""/metrics with several worker processes: one scrape counts the requests every worker served."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pymongo
from prometheus_client.multiprocess import MultiProcessCollector

from server.embedded import free_port
from tests.test_lifecycle import ROOT, _child_pids, _wait_until_serving

# Counted on /readyz: the start-up wait polls /healthz, and a poll that timed out while the workers were
# still starting is served (and counted) once they are up.
READYZ_SERIES = 'citygate_http_requests_total{method="GET",route="/readyz",status="200"}'


def _text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.read().decode()


def _readyz_count(metrics_text: str) -> float:
    found = re.search(re.escape(READYZ_SERIES) + r" (\S+)", metrics_text)
    return float(found.group(1)) if found else 0.0


def _served_by(directory: Path, pid: int) -> float:
    """The /readyz requests one worker counted, read from its own file."""
    path = directory / f"counter_{pid}.db"
    if not path.exists():
        return 0.0
    return sum(sample.value for family in MultiProcessCollector.merge([str(path)]) for sample in family.samples
               if sample.name == "citygate_http_requests_total" and sample.labels.get("route") == "/readyz")


def test_metrics_add_up_every_workers_requests(settings, backing_urls, tmp_path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYGATE_", "PROMETHEUS_"))}
    env.update({"CITYGATE_PORT": str(port), "CITYGATE_DATA_DIR": str(tmp_path), "CITYGATE_DEMO_DATA": "false",
                "CITYGATE_MONGODB_URL": backing_urls[0], "CITYGATE_REDIS_URL": backing_urls[1],
                "CITYGATE_MONGODB_DB": settings.mongodb_db, "CITYGATE_BACKGROUND_WORKERS": "false",
                "CITYGATE_LOG_LEVEL": "WARNING"})
    (tmp_path / "metrics" / str(port)).mkdir(parents=True)
    (tmp_path / "metrics" / str(port) / "counter_1.db").write_bytes(b"left by an earlier run")
    process = subprocess.Popen([sys.executable, "-m", "server", "--workers", "2"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    directory = tmp_path / "metrics" / str(port)
    try:
        _wait_until_serving(f"{base}/healthz", process)
        assert not (directory / "counter_1.db").exists()  # wiped at start: an earlier run's counts are not ours
        workers = [pid for pid, command in _child_pids(process.pid) if "-m server" in command]
        assert len(workers) == 2
        before = _readyz_count(_text(f"{base}/metrics"))
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            # Each request opens its own connection, so either worker may accept it; go on until
            # both have served some (the kernel does not promise an even share).
            deadline = time.monotonic() + 60
            while not all(_served_by(directory, pid) for pid in workers) and time.monotonic() < deadline:
                list(pool.map(lambda _: _text(f"{base}/readyz"), range(40)))
                sent += 40
        per_worker = [_served_by(directory, pid) for pid in workers]
        assert all(per_worker), per_worker
        for _ in range(3):  # whichever worker answers the scrape, it counts them all
            total = _readyz_count(_text(f"{base}/metrics"))
            assert total == sum(per_worker)
            assert total - before == sent
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with pymongo.MongoClient(backing_urls[0]) as client:
            client.drop_database(settings.mongodb_db)
