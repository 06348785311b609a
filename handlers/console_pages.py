"""The operator web console at /console/: one page and its static files, served by the service itself.

The console is plain ES modules under web/console/ (no build step, nothing from a CDN). It speaks only
the /admin/v1 API with the operator's bearer token; this module serves files and nothing else. The
page carries the role → permission table of models/access.py, so the console shows only the controls
an operator's roles can use (the API refuses the rest anyway).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import pathlib

from handlers.base import BaseHandler
from handlers.contract import Raw, declare
from models import access
from models.errors import NotFound

CONSOLE_DIR = pathlib.Path(__file__).resolve().parent.parent / "web" / "console"
ASSETS = ("app.js", "api.js", "i18n.js", "ui.js", "pages.js", "charts.js", "console.css", "favicon.svg")

# Nothing but our own files: no inline script, no inline style, no frames, no other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _page() -> bytes:
    roles = {role: sorted(permissions) for role, permissions in access.ROLES.items()}
    html = (CONSOLE_DIR / "index.html").read_text(encoding="utf-8")
    # A data block, not a script: the CSP forbids inline scripts and the console reads it as JSON.
    return html.replace("{{roles}}", json.dumps(roles, sort_keys=True).replace("<", "\\u003c")).encode()


class ConsolePageHandler(BaseHandler):
    """The operator console (a single page; its views live after the `#`)."""

    _body: bytes | None = None

    @declare(answer=Raw("text/html", {"type": "string"}, "The console page"))
    async def get(self) -> None:
        if ConsolePageHandler._body is None:
            ConsolePageHandler._body = _page()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(ConsolePageHandler._body)


class ConsoleAssetHandler(BaseHandler):
    """A file of the console (module, style sheet, icon), cacheable and revalidated by its ETag."""

    path_params = ("name",)
    _cache: dict[str, tuple[bytes, str, str]] = {}

    @declare(answer=Raw("application/octet-stream", {"type": "string", "format": "binary"},
                        "The file (JavaScript module, CSS or SVG)"))
    async def get(self, name: str) -> None:
        if name not in self._cache:
            if name not in ASSETS:
                raise NotFound("asset_not_found", "未找到该文件", "No such file")
            content = (CONSOLE_DIR / name).read_bytes()
            media = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}.get(
                pathlib.PurePath(name).suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
            self._cache[name] = (content, media, '"' + hashlib.sha256(content).hexdigest()[:32] + '"')
        content, media, etag = self._cache[name]
        self.set_header("Content-Type", media + "; charset=utf-8")
        # Revalidated on every load: a console updated on the server is never half old, half new.
        self.set_header("Cache-Control", "no-cache")
        self.set_header("ETag", etag)
        if self.header("If-None-Match") == etag:
            self.set_status(304)
            self.finish()
            return
        self.finish(content)


routes = [
    (r"/console/", ConsolePageHandler),
    (r"/console", ConsolePageHandler),  # the same page: its files and views need no relative path
    (r"/console/assets/([A-Za-z0-9._-]+)", ConsoleAssetHandler),
]
