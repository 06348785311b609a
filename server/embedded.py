"""The embedded default: a private MongoDB-protocol server (nx-27017) and redis-server.

Started as child processes on free loopback ports when no URL is configured, so `make run` and
`make test` need nothing installed by hand. Production always names real servers instead.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("citygate.embedded")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout:.0f}s")


class EmbeddedServer:
    """A child server process on a free loopback port; `stop()` ends it."""

    name = "server"

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        self.port = 0
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        raise NotImplementedError

    def start(self, port: int = 0) -> EmbeddedServer:
        """Start on `port` (a restart on the port it had), or on a free one."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        log_path = self.data_dir / f"{self.name}.log"
        with open(log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                self.command(), stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C to the service must not kill its datastore mid-write
            )
        _wait_for_port(self.port, self.process, self.name)
        log.info("embedded %s listening on 127.0.0.1:%d (log %s)", self.name, self.port, log_path)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


class EmbeddedMongo(EmbeddedServer):
    """nx-27017: a MongoDB wire-protocol server on SQLite, one file per database under data_dir."""

    name = "nx-27017"

    def command(self) -> list[str]:
        try:
            import nx_27017  # noqa: F401 - only checking it is installed
        except ImportError:
            raise RuntimeError("nx-27017 is not installed: run `make setup`") from None
        launcher = Path(__file__).with_name("nx_launcher.py")
        return [
            sys.executable, str(launcher), "--host", "127.0.0.1", "--port", str(self.port),
            "--data-dir", str(self.data_dir / "mongo"),
            "--log-file", str(self.data_dir / "nx-27017.server.log"),
            "--pid-file", str(self.data_dir / f"nx-27017.{self.port}.pid"),
        ]

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"


def _redis_server() -> str:
    executable = shutil.which("redis-server")
    if not executable:
        raise RuntimeError("redis-server is not installed: run `make setup` (installs Debian's redis-server)")
    return executable


class EmbeddedRedis(EmbeddedServer):
    """A private redis-server: ephemeral by default (tests); with `persist`, an append-only file under
    data_dir/redis (`make run`: a restart keeps every session and rate-limit window)."""

    name = "redis"

    def __init__(self, data_dir: str | Path, persist: bool = False) -> None:
        super().__init__(data_dir)
        self.persist = persist

    def command(self) -> list[str]:
        if not self.persist:
            storage = ["--save", "", "--appendonly", "no", "--dir", str(self.data_dir)]
        else:
            # AOF fsynced every second: at most the last second of writes is lost on a power cut, and
            # a clean stop (SIGTERM) loses nothing. No RDB snapshots besides (the AOF rewrites itself).
            store = self.data_dir / "redis"
            store.mkdir(parents=True, exist_ok=True)
            storage = ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(store)]
        return [_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1", *storage,
                "--protected-mode", "yes", "--daemonize", "no"]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, port: int = 0) -> EmbeddedRedis:
        super().start(port)
        if self.persist:
            self._wait_until_loaded()
        return self

    def _wait_until_loaded(self, timeout: float = 60.0) -> None:
        """Redis listens before it has read its append-only file back (it answers -LOADING
        meanwhile): wait for a PONG, so the service starts on the sessions it had."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis did not load its data within {timeout:.0f}s")


class _ClusterNode(EmbeddedServer):
    """One master of an EmbeddedRedisCluster, in a directory of its own (its nodes.conf)."""

    def __init__(self, data_dir: str | Path, number: int) -> None:
        super().__init__(Path(data_dir) / f"node{number}")
        self.name = f"redis-cluster-node{number}"
        self.bus_port = 0

    def command(self) -> list[str]:
        self.bus_port = free_port()  # explicit: port + 10000 may be taken or past 65535
        return [_redis_server(), "--port", str(self.port), "--cluster-port", str(self.bus_port),
                "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no", "--dir", str(self.data_dir),
                "--protected-mode", "yes", "--daemonize", "no"]


class EmbeddedRedisCluster:
    """Three redis-server masters in cluster mode sharing all 16384 slots, no replicas: what the test
    harness runs the Redis-using suites against (`CITYGATE_TEST_REDIS=cluster`, tests/conftest.py).
    Ephemeral, like the tests' single node. `url` is a `redis+cluster://` URL naming every node."""

    name = "redis-cluster"

    def __init__(self, data_dir: str | Path, masters: int = 3) -> None:
        self.data_dir = Path(data_dir) / "redis-cluster"
        self.nodes = [_ClusterNode(self.data_dir, number) for number in range(masters)]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def start(self, timeout: float = 30.0) -> EmbeddedRedisCluster:
        try:
            for node in self.nodes:
                node.start()
            cli = shutil.which("redis-cli")
            if not cli:
                raise RuntimeError("redis-cli is not installed: run `make setup` (Debian's redis-server brings it)")
            created = subprocess.run(
                [cli, "--cluster", "create", *(f"127.0.0.1:{node.port}" for node in self.nodes),
                 "--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
            if created.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout[-500:]}{created.stderr[-500:]}")
            self._wait_until_ok(cli, timeout)
        except Exception:
            self.stop()
            raise
        log.info("embedded redis cluster ready: %s", self.url)
        return self

    def _wait_until_ok(self, cli: str, timeout: float) -> None:
        """Every node agrees the cluster is up (all slots served), which takes a gossip round or two."""
        deadline = time.monotonic() + timeout
        pending = list(self.nodes)
        while pending:
            info = subprocess.run([cli, "-p", str(pending[0].port), "cluster", "info"],
                                  capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL).stdout
            if "cluster_state:ok" in info:
                pending.pop(0)
            elif time.monotonic() > deadline:
                raise RuntimeError(f"redis cluster not ok within {timeout:.0f}s: {info.strip()[:200]}")
            else:
                time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> None:
        for node in reversed(self.nodes):
            node.stop(timeout)
