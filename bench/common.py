"""Shared pieces of the benchmarks: start the service and a baseline server, drive them with wrk.

Benchmarks are run by hand (`make bench`, or one script) or in CI's smoke mode
(`BENCH_SMOKE=1`: short runs that only prove the scripts work). Figures are ratios taken in one
run, because this machine is shared and noisy: absolute requests per second mean little here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
# Servers under test on one core, wrk on another (when there are two and taskset exists; BENCH_PIN=0
# turns it off): the scheduler then cannot move either side mid-run, which on this shared 2-core
# machine otherwise swings a round's figure by several percent. Both sides get the same treatment.
PINNED = (os.environ.get("BENCH_PIN", "1") == "1" and shutil.which("taskset") is not None
          and (os.cpu_count() or 1) >= 2)
SERVER_CPU, LOAD_CPU = ("0", "1") if PINNED else (None, None)

BASELINE_SERVER = """
import asyncio, json, sys
import tornado.web

class Hello(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": "ok"}))

async def main():
    tornado.web.Application([(r"/.*", Hello)]).listen(int(sys.argv[1]), "127.0.0.1")
    await asyncio.Event().wait()

if sys.argv[2:] == ["uvloop"]:
    import uvloop
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
else:
    asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 - loopback
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def pin(pid: int, cpu: str | None) -> None:
    """Keep every thread of process `pid` on `cpu` (no-op without pinning)."""
    if cpu is not None:
        subprocess.run(["taskset", "-a", "-p", "-c", cpu, str(pid)], check=True, capture_output=True)


@contextlib.contextmanager
def running_service(extra_env: dict[str, str] | None = None, workers: int = 1,
                    cpu: str | None = None) -> Iterator[str]:
    """Start `python -m server` on a free port with its embedded backing servers; yield its base URL.
    `cpu`: pin the (single-process) service there once it answers."""
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="citygate-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGATE_")}
    env.update({"CITYGATE_PORT": str(port), "CITYGATE_DATA_DIR": data_dir, "CITYGATE_LOG_LEVEL": "WARNING"})
    env.update(extra_env or {})
    process = subprocess.Popen([sys.executable, "-m", "server", "--workers", str(workers)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


@contextlib.contextmanager
def running_baseline(cpu: str | None = None, loop: str = "asyncio") -> Iterator[str]:
    """A minimal Tornado hello-JSON server, answering every path: the ceiling this machine allows for
    one Python process (on the standard library's event loop unless `loop` is "uvloop")."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", BASELINE_SERVER, str(port), loop],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        pin(process.pid, cpu)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


def wrk(url: str, seconds: int | None = None, connections: int = 32, threads: int = 1,
        headers: dict[str, str] | None = None, script: str | None = None,
        cpu: str | None = None) -> dict[str, float]:
    """Run wrk against `url` (on `cpu`, when given); return requests/s and latency percentiles (ms)."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    duration = seconds if seconds is not None else (2 if SMOKE else 10)
    command = ["taskset", "-c", cpu] if cpu is not None else []
    command += ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    percentiles = {}
    for label in ("50%", "90%", "99%"):
        match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)\b", output)
        if match:
            value, unit = float(match.group(1)), match.group(2)
            percentiles[label] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rps, "p50_ms": percentiles.get("50%", 0.0), "p99_ms": percentiles.get("99%", 0.0),
            "non_2xx": float(non2xx.group(1)) if non2xx else 0.0}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pids: list[int], busy_below: float = 0.05, timeout: float = 180) -> float:
    """Wait until these processes together use less than `busy_below` of a core over a second (a
    datastore still digesting a bulk load would otherwise take CPU from whatever is measured next);
    return the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(1.0)
        if sum(cpu_seconds(pid) for pid in pids) - before < busy_below:
            break
    return time.monotonic() - began


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@contextlib.contextmanager
def embedded_backing(data_dir: str | Path) -> Iterator[tuple[Any, Any]]:
    """An embedded nx-27017 and redis-server holding a benchmark's own data; (mongo, redis) with
    `.url` and `.process`, stopped afterwards."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from server.embedded import EmbeddedMongo, EmbeddedRedis

    mongo = EmbeddedMongo(data_dir).start()
    try:
        redis = EmbeddedRedis(data_dir).start()
        try:
            yield mongo, redis
        finally:
            redis.stop()
    finally:
        mongo.stop()


async def drive(base_url: str, requests: list[tuple[str, str, dict[str, str], bytes]], concurrency: int,
                accept: Callable[[int, bytes], bool] = lambda status, _: status == 200) -> dict[str, float]:
    """Send `requests` (method, path, headers, body) over `concurrency` kept-alive connections, each
    taking the next one as it finishes; requests per second, p50/p99 latency (ms), and how many
    answers `accept` refused."""
    parsed = urllib.parse.urlsplit(base_url)
    pending = iter(requests)
    latencies: list[float] = []
    failures = 0

    async def connection() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
        try:
            for method, path, headers, body in pending:
                started = time.perf_counter()
                status, answer = await exchange(reader, writer, method, path, headers, body)
                latencies.append(time.perf_counter() - started)
                failures += not accept(status, answer)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"rps": len(requests) / elapsed, "p50_ms": median(latencies) * 1000,
            "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, "failures": failures}


def report(name: str, figures: dict[str, object]) -> None:
    print(json.dumps({"bench": name, **figures}, ensure_ascii=False))


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str, path: str,
                   headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a kept-alive connection (for load loops without wrk); (status, body)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    return status, await reader.readexactly(length) if length else b""
