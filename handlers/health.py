"""Liveness, readiness, metrics and the API description."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import pathlib
from typing import Any

import swagger_ui

from handlers import openapi
from handlers.base import BaseHandler
from handlers.contract import Answer, Raw, declare
from models.core import redisio
from models.errors import NotFound


class Health(Answer):
    status: str


class Readiness(Answer):
    """`ok`, or `unavailable` naming the backing services that did not answer (`failed`)."""

    status: str
    checks: dict[str, str]
    failed: list[str] = []


class HealthHandler(BaseHandler):
    """Process is up."""

    @declare(answer=Health)
    async def get(self) -> None:
        self.write_json({"status": "ok"})


class ReadyHandler(BaseHandler):
    """MongoDB and Redis are reachable (503 naming the one that is not)."""

    @declare(answer=Readiness, errors={503: "A backing service did not answer (body: Readiness)"})
    async def get(self) -> None:
        async def check(name: str, probe) -> tuple[str, str]:  # noqa: ANN001
            try:
                await asyncio.wait_for(probe(), timeout=2.0)
                return name, "ok"
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                return name, f"unavailable: {type(exc).__name__}"

        results = dict(await asyncio.gather(
            check("mongodb", lambda: self.ctx.mongo.admin.command("ping")),
            check("redis", lambda: redisio.ping_everywhere(self.ctx.redis)),
        ))
        failed = sorted(name for name, state in results.items() if state != "ok")
        payload = {"status": "ok" if not failed else "unavailable", "checks": results}
        if failed:
            payload["failed"] = failed
            self.set_header("Retry-After", "5")
        self.write_json(payload, status=503 if failed else 200)


class MetricsHandler(BaseHandler):
    """Prometheus metrics in text format."""

    @declare(answer=Raw("text/plain", {"type": "string"}, "Prometheus text exposition format 0.0.4"))
    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(self.ctx_metrics.render())


class OpenAPIHandler(BaseHandler):
    """The OpenAPI 3.1 description of every route."""

    @declare(answer=dict[str, Any])
    async def get(self) -> None:
        settings = self.application.settings  # built once per app: its routes do not change while it runs
        if "openapi_body" not in settings:
            settings["openapi_body"] = self.encode_json(openapi.build_spec(settings["route_table"]))
        self.write_json_body(settings["openapi_body"])


# Swagger UI from the pinned swagger-ui-py package, served by the service itself: government
# networks are often closed, so the page must load nothing from outside.
SWAGGER_UI_DIR = pathlib.Path(swagger_ui.__file__).parent / "static"
DOCS_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")

DOCS_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>CityGate API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui" data-spec="/openapi.json"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script></body></html>
"""

# validatorUrl null: Swagger UI would otherwise send the spec to validator.swagger.io for a badge.
DOCS_INIT = """window.ui = SwaggerUIBundle({
  url: document.getElementById('swagger-ui').dataset.spec, dom_id: '#swagger-ui',
  deepLinking: true, validatorUrl: null, persistAuthorization: true, tryItOutEnabled: true,
  displayRequestDuration: true, presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout'
});
"""


class DocsHandler(BaseHandler):
    """Interactive API documentation (Swagger UI) of /openapi.json; every asset served locally."""

    @declare(answer=Raw("text/html", {"type": "string"}, "The Swagger UI page"))
    async def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(DOCS_PAGE)


class DocsAssetHandler(BaseHandler):
    """A file of the documentation page (script, style sheet, icon)."""

    path_params = ("name",)
    _cache: dict[str, tuple[bytes, str, str]] = {}

    @declare(answer=Raw("application/octet-stream", {"type": "string", "format": "binary"},
                        "The asset (JavaScript, CSS or PNG), cacheable for a day"))
    async def get(self, name: str) -> None:
        if name not in self._cache:
            if name == "init.js":
                content = DOCS_INIT.encode()
            elif name in DOCS_ASSETS:
                content = (SWAGGER_UI_DIR / name).read_bytes()
            else:
                raise NotFound("asset_not_found", "未找到该文件", "No such file")
            media = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self._cache[name] = (content, media, '"' + hashlib.sha256(content).hexdigest()[:32] + '"')
        content, media, etag = self._cache[name]
        self.set_header("Content-Type", media + ("; charset=utf-8" if media.startswith(("text/", "application/javascript")) else ""))
        self.set_header("Cache-Control", "public, max-age=86400")
        self.set_header("ETag", etag)
        if self.header("If-None-Match") == etag:
            self.set_status(304)
            self.finish()
            return
        self.finish(content)


routes = [
    (r"/healthz", HealthHandler),
    (r"/readyz", ReadyHandler),
    (r"/metrics", MetricsHandler),
    (r"/openapi.json", OpenAPIHandler),
    (r"/docs", DocsHandler),
    (r"/docs/assets/([A-Za-z0-9._-]+)", DocsAssetHandler),
]
