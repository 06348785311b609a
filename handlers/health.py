"""Liveness, readiness, metrics and the API description."""

from __future__ import annotations

import asyncio

from handlers.base import BaseHandler
from server import openapi


class HealthHandler(BaseHandler):
    """Process is up."""

    async def get(self) -> None:
        self.write_json({"status": "ok"})


class ReadyHandler(BaseHandler):
    """MongoDB and Redis are reachable (503 naming the one that is not)."""

    async def get(self) -> None:
        async def check(name: str, probe) -> tuple[str, str]:  # noqa: ANN001
            try:
                await asyncio.wait_for(probe(), timeout=2.0)
                return name, "ok"
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                return name, f"unavailable: {type(exc).__name__}"

        results = dict(await asyncio.gather(
            check("mongodb", lambda: self.ctx.mongo.admin.command("ping")),
            check("redis", self.ctx.redis.ping),
        ))
        failed = sorted(name for name, state in results.items() if state != "ok")
        payload = {"status": "ok" if not failed else "unavailable", "checks": results}
        if failed:
            payload["failed"] = failed
            self.set_header("Retry-After", "5")
        self.write_json(payload, status=503 if failed else 200)


class MetricsHandler(BaseHandler):
    """Prometheus metrics in text format."""

    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(self.ctx_metrics.render())


class OpenAPIHandler(BaseHandler):
    """The OpenAPI 3.1 description of every route."""

    async def get(self) -> None:
        self.write_json(openapi.build_spec(self.application.settings["route_table"]))


class DocsHandler(BaseHandler):
    """A browsable page of the API description."""

    async def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(openapi.DOCS_PAGE)


routes = [
    (r"/healthz", HealthHandler),
    (r"/readyz", ReadyHandler),
    (r"/metrics", MetricsHandler),
    (r"/openapi.json", OpenAPIHandler),
    (r"/docs", DocsHandler),
]
