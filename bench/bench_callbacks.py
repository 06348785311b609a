"""Payment callbacks per second per core, as a ratio to GET /healthz in the same run.

Run: `make setup && .venv/bin/python bench/bench_callbacks.py` (`BENCH_SMOKE=1` for a short run).

The script starts its own embedded MongoDB and Redis, then `python -m server --workers 1` (one
process: one core) on them with the demo data (so the demo channels carry the sandbox merchants) and
background workers off. Directly in the database it creates fee-charging applications with pending
fee orders (setup, not timed), and builds, before timing, one WeChat Pay v3 notification per order
exactly as the sandbox sends them: RSA-SHA256 signed by the sandbox platform key, the resource
AES-256-GCM encrypted with the demo merchant's APIv3 key. Then, over 16 kept-alive connections:

  1. GET /healthz                                   (the ceiling of this process on this machine)
  2. POST /notify/wechatpay/wechat-demo, first time  (verify, decrypt, pending → paid, application,
                                                      outbox, attempt recorded)
  3. the same notifications again                   (duplicates: verify, decrypt, record, answer)
  4. POST /notify/alipay/alipay-demo, first time     (RSA2 verify, apply, record)

Each figure is reported with its ratio to healthz; this machine is shared and noisy, so the ratios
are the figures that mean something. Every callback must be answered 204 / `success`, and every
order must end paid exactly once, or the script exits non-zero.
"""

from __future__ import annotations

import asyncio
import datetime
import secrets
import sys
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SMOKE, drive, embedded_backing, report, running_service  # noqa: E402

CONCURRENCY = 16
HEALTHZ_REQUESTS = 300 if SMOKE else 4000
ORDERS = 60 if SMOKE else 1500
AMOUNT_FEN = 2000


def answered(status: int, body: bytes | None = None) -> Callable[[int, bytes], bool]:
    """An answer counts when it has this status (and, when given, this body)."""
    return lambda got, answer: got == status and (body is None or answer == body)


async def prepare(ctx, count: int) -> tuple[list[tuple], list[tuple]]:  # noqa: ANN001
    """Pending orders for fee applications, and their WeChat and Alipay notifications (not timed)."""
    from integrations.alipay_trade import fen_to_yuan, sign_notification
    from integrations.sandbox import alipay as alipay_sandbox
    from integrations.sandbox import wechatpay as wechatpay_sandbox
    from models import channels

    wechat = await channels.find_channel(ctx, channels.DEMO_WECHAT_APP_ID)
    alipay = await channels.find_channel(ctx, channels.DEMO_ALIPAY_APP_ID)
    if wechat is None or alipay is None or "wechatpay_mch_id" not in wechat.public:
        raise SystemExit("the demo channels have no payment set-up: is server.demo_payments in DEMO_MODULES?")
    now = ctx.clock()
    far = now + datetime.timedelta(days=1)
    applications, orders = [], []
    wechat_calls, alipay_calls = [], []
    gateway_key = await alipay_sandbox.gateway_private_key_pem(ctx)
    for number in range(count * 2):
        vendor = "wechat" if number < count else "alipay"
        channel = wechat if vendor == "wechat" else alipay
        no, order_no = f"330100BENCH{number:06d}", f"PAYBENCH{number:08d}{secrets.token_hex(4).upper()}"
        applications.append({"_id": no, "citizen_id": f"bench-{number}", "service_code": "BENCH-FEE",
                             "status": "submitted", "version": 1, "created_at": now, "updated_at": now})
        orders.append({"_id": order_no, "application_no": no, "citizen_id": f"bench-{number}",
                       "service_code": "BENCH-FEE", "description": "bench", "channel": vendor,
                       "channel_id": channel.id, "app_id": channel.app_id, "payer_id": "o-bench",
                       "amount_fen": AMOUNT_FEN, "status": "pending", "active_for": no, "placed": True,
                       "created_at": now, "updated_at": now, "expires_at": far, "next_check_at": far,
                       "refunded_fen": 0, "refundable_fen": 0})
        if vendor == "wechat":
            resource = {"appid": wechat.app_id, "mchid": wechat.public["wechatpay_mch_id"], "out_trade_no": order_no,
                        "transaction_id": f"42000000{number:020d}", "trade_type": "JSAPI", "trade_state": "SUCCESS",
                        "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": no,
                        "success_time": now.isoformat(timespec="seconds"), "payer": {"openid": "o-bench"},
                        "amount": {"total": AMOUNT_FEN, "payer_total": AMOUNT_FEN, "currency": "CNY",
                                   "payer_currency": "CNY"}}
            headers, body = await wechatpay_sandbox.build_notification(
                ctx, apiv3_key=wechat.secrets["wechatpay_apiv3_key"], event_type="TRANSACTION.SUCCESS",
                original_type="transaction", resource=resource, summary="支付成功")
            wechat_calls.append(("POST", f"/notify/wechatpay/{wechat.id}", headers, body))
        else:
            params = sign_notification({
                "notify_time": "2026-11-23 10:00:00", "notify_type": "trade_status_sync",
                "notify_id": secrets.token_hex(16), "app_id": alipay.app_id, "charset": "utf-8", "version": "1.0",
                "trade_no": f"2026112322{number:018d}", "out_trade_no": order_no, "buyer_id": "2088000000000101",
                "seller_id": alipay.public["alipay_seller_id"], "trade_status": "TRADE_SUCCESS",
                "total_amount": fen_to_yuan(AMOUNT_FEN), "receipt_amount": fen_to_yuan(AMOUNT_FEN),
                "subject": "bench", "gmt_create": "2026-11-23 09:59:00", "gmt_payment": "2026-11-23 09:59:59"},
                gateway_key)
            alipay_calls.append(("POST", f"/notify/alipay/{alipay.id}",
                                 {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                                 urllib.parse.urlencode(params).encode()))
    await ctx.db.applications.insert_many(applications)
    await ctx.db.payment_orders.insert_many(orders)
    return wechat_calls, alipay_calls


async def measure(base_url: str, port: int, mongodb_url: str, redis_url: str) -> dict[str, object]:
    from config.settings import Settings
    from server.context import AppContext

    ctx = AppContext.connect(Settings(port=port), mongodb_url, redis_url)
    try:
        for _ in range(100):  # the service loads its demo data after it starts listening
            if await ctx.db.channels.count_documents({"public.wechatpay_mch_id": {"$exists": True}}):
                break
            await asyncio.sleep(0.2)
        wechat_calls, alipay_calls = await prepare(ctx, ORDERS)
        healthz_call = ("GET", "/healthz", {}, b"")
        await drive(base_url, [healthz_call] * 200, CONCURRENCY)  # warm up
        healthz = await drive(base_url, [healthz_call] * HEALTHZ_REQUESTS, CONCURRENCY)
        first = await drive(base_url, wechat_calls, CONCURRENCY, answered(204))
        duplicates = await drive(base_url, wechat_calls, CONCURRENCY, answered(204))
        alipay = await drive(base_url, alipay_calls, CONCURRENCY, answered(200, b"success"))
        paid = await ctx.db.payment_orders.count_documents({"status": "paid", "_id": {"$regex": "^PAYBENCH"}})
        applied = await ctx.db.payment_notifications.count_documents({"outcome": "applied"})
    finally:
        await ctx.close()
    return {
        "healthz_rps": round(healthz["rps"]),
        "wechat_callbacks_per_s_per_core": round(first["rps"], 1), "wechat_ratio": round(first["rps"] / healthz["rps"], 3),
        "wechat_duplicates_per_s_per_core": round(duplicates["rps"], 1),
        "wechat_duplicate_ratio": round(duplicates["rps"] / healthz["rps"], 3),
        "alipay_callbacks_per_s_per_core": round(alipay["rps"], 1), "alipay_ratio": round(alipay["rps"] / healthz["rps"], 3),
        "wechat_p50_ms": round(first["p50_ms"], 1), "wechat_p99_ms": round(first["p99_ms"], 1),
        "alipay_p99_ms": round(alipay["p99_ms"], 1), "healthz_p99_ms": round(healthz["p99_ms"], 1),
        "callbacks_per_channel": ORDERS, "concurrency": CONCURRENCY, "workers": 1,
        "failures": first["failures"] + duplicates["failures"] + alipay["failures"],
        "orders_paid": paid, "applied": applied,
    }


def main() -> None:
    data_dir = tempfile.mkdtemp(prefix="citygate-bench-callbacks-")
    with embedded_backing(data_dir) as (mongo, redis), running_service(
            {"CITYGATE_MONGODB_URL": mongo.url, "CITYGATE_REDIS_URL": redis.url,
             "CITYGATE_BACKGROUND_WORKERS": "false"}) as base_url:
        figures = asyncio.run(measure(base_url, urllib.parse.urlsplit(base_url).port, mongo.url, redis.url))
    report("payment_callbacks", figures)
    if figures["failures"] or figures["orders_paid"] != 2 * ORDERS or figures["applied"] != 2 * ORDERS:
        sys.exit(1)


if __name__ == "__main__":
    main()
