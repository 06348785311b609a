"""The Redis-heavy suites, run again against a local three-master Redis Cluster (issue 20).

A subprocess `pytest` with `CITYGATE_TEST_REDIS=cluster` (tests/conftest.py starts the cluster:
server/embedded.py `EmbeddedRedisCluster`) runs the tests that lean on Redis the most: tokens and
their revocation across workers, logins and their rate limits, operator lockouts, the local caches'
pub/sub invalidation, application read models, bookings, payment callbacks, the outbox, the WeChat
access-token lock, the catalogue version, limits shared by two instances. Any key operation that
spans slots fails there (CROSSSLOT), so this is where a new multi-key operation without a shared hash
tag shows up. The selection stays under a few minutes; any test file runs so by hand:
`CITYGATE_TEST_REDIS=cluster .venv/bin/python -m pytest tests/test_x.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# (file, -k expression or "" for the whole file)
SELECTION = [
    ("tests/test_localcache.py", ""),
    ("tests/test_identity_sessions.py", ""),
    ("tests/test_identity_login.py", "wechat_login_creates or concurrent_first_logins or rate_limited or alipay_login_with"),
    ("tests/test_identity_messages.py", "sent_once or revoked_access_token or outbox_delivers"),
    ("tests/test_operators.py", "lockout or concurrent_failures or disabled_account or sessions_are_listed"),
    ("tests/test_applications.py", "public_progress or cached_read_model or every_transition or idempotent_submit"),
    ("tests/test_appointments.py", "citizen_books or race_in_one_process or retried_booking"),
    ("tests/test_payments_callbacks.py", "replayed_ten_times or fifty_concurrent_wechat"),
    ("tests/test_idempotency_and_outbox.py", "concurrent_retries or delivery_retries or dead_workers"),
    ("tests/test_search.py", "catalogue_version"),
    ("tests/test_redis_faults.py", "rate_limits"),
]
TIMEOUT_SECONDS = 600  # a hang fails the test instead of holding CI


def _node_ids() -> list[str]:
    """The selection as pytest arguments: every file, and one -k over all of them (a file with no
    expression is selected whole by its module name)."""
    files = [path for path, _ in SELECTION]
    expression = " or ".join(f"({k})" if k else Path(path).stem for path, k in SELECTION)
    return [*files, "-k", expression]


@pytest.mark.skipif(os.environ.get("CITYGATE_TEST_REDIS") == "cluster", reason="already running on the cluster")
def test_the_redis_heavy_suites_pass_on_a_redis_cluster(tmp_path) -> None:  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if k != "CITYGATE_REDIS_URL"}  # the harness starts the cluster
    env["CITYGATE_TEST_REDIS"] = "cluster"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "run"),
               *_node_ids()]
    try:
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the cluster run took over {TIMEOUT_SECONDS}s:\n{(exc.stdout or '')[-3000:]}")
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, f"{summary}\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
    assert " passed" in summary and "deselected" in summary, summary  # it ran, and ran the selection only


def test_a_cluster_url_names_its_seed_nodes_and_credentials() -> None:
    from config.settings import Settings
    from server.redisclient import cluster_nodes, is_cluster_url

    url = "rediss+cluster://app:p%40ss@10.0.0.1:6379,10.0.0.2:6380/"
    assert is_cluster_url(url) and not is_cluster_url("redis://cache:6379/0")
    assert cluster_nodes(url) == ([("10.0.0.1", 6379), ("10.0.0.2", 6380)],
                                  {"username": "app", "password": "p@ss", "ssl": True})
    with pytest.raises(ValueError):
        cluster_nodes("redis+cluster://cache")  # no port
    assert not Settings(redis_url="redis+cluster://h1:6379,h2:6379").problems()
    assert Settings(redis_url="memcached://h1:11211").problems()


def test_keys_used_together_share_a_slot_whatever_the_value() -> None:
    from redis.crc import key_slot

    from models.core.redisio import tagged

    for value in ("330100-20261129-000042", "a}b", "{x}", "}", "x{", ""):
        first, second = tagged("cg:application:", value), tagged("cg:application-gen:", value)
        assert key_slot(first.encode()) == key_slot(second.encode()), value
    assert tagged("p:", "a}b") != tagged("p:", "a)b")  # no two values share a key


async def test_readiness_asks_every_master_of_the_cluster(settings, backing_urls, clock, tmp_path) -> None:  # noqa: ANN001
    """A master down is a cluster down (its slots answer nothing): /readyz names redis then, although
    the node the client would ping by default may still answer."""
    from server.embedded import EmbeddedRedisCluster
    from tests.conftest import start_app, stop_app

    cluster = EmbeddedRedisCluster(tmp_path).start()
    running = await start_app(settings, backing_urls[0], cluster.url, clock=clock)
    try:
        assert running.ctx.caches.listening  # the invalidation subscriber found its node
        assert (await running.fetch("GET", "/readyz")).status == 200
        default = running.ctx.redis.get_default_node().port  # where a plain PING goes
        next(node for node in cluster.nodes if node.port != default).stop()
        response = await running.fetch("GET", "/readyz")
        assert response.status == 503 and response.json()["failed"] == ["redis"]
    finally:
        cluster.stop()
        await stop_app(running)
