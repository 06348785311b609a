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

    def start(self) -> EmbeddedServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
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


class EmbeddedRedis(EmbeddedServer):
    """A private redis-server that keeps nothing on disk."""

    name = "redis"

    def command(self) -> list[str]:
        executable = shutil.which("redis-server")
        if not executable:
            raise RuntimeError("redis-server is not installed: run `make setup` (installs Debian's redis-server)")
        return [
            executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.data_dir), "--protected-mode", "yes", "--daemonize", "no",
        ]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"
