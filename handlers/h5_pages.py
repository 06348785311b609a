"""The phone-browser client at /m/ (web/m/: plain HTML and small ES modules, no build step).

Served gzipped when the browser takes it (the whole first load is a few tens of kilobytes: see
docs/h5.md), each file with an ETag so a return visit on a slow network costs a 304. The page uses
only /api/v1; its Content-Security-Policy allows nothing but this site.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import pathlib

from handlers.base import BaseHandler
from handlers.contract import Raw, declare
from models.errors import NotFound

ROOT = pathlib.Path(__file__).resolve().parent.parent / "web" / "m"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html",
          ".webmanifest": "application/manifest+json"}


class _File:
    """One file of the client, read once: its bytes, gzipped bytes, media type and ETag."""

    def __init__(self, path: pathlib.Path) -> None:
        self.raw = path.read_bytes()
        self.gzipped = gzip.compress(self.raw, compresslevel=9, mtime=0)
        media = _MEDIA.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.media = media + ("; charset=utf-8" if media.startswith("text/") or media.endswith("+json") else "")
        self.etag = '"' + hashlib.sha256(self.raw).hexdigest()[:32] + '"'


_files: dict[str, _File] = {}


def _file(name: str) -> _File:
    if name not in _files:
        path = ROOT / name
        if not path.is_file() or path.resolve().parent != ROOT:
            raise NotFound("asset_not_found", "未找到该文件", "No such file")
        _files[name] = _File(path)
    return _files[name]


class _ClientFile(BaseHandler):
    def send_file(self, name: str) -> None:
        found = _file(name)
        self.set_header("Content-Type", found.media)
        # Revalidated on every load (a 304 is a few hundred bytes), so a new version shows at once.
        self.set_header("Cache-Control", "no-cache")
        self.set_header("ETag", found.etag)
        self.set_header("Vary", "Accept-Encoding")
        if name.endswith(".html"):
            self.set_header("Content-Security-Policy", CSP)
            self.set_header("Referrer-Policy", "same-origin")
        if self.header("If-None-Match") == found.etag:
            self.set_status(304)
            self.finish()
            return
        if "gzip" in self.header("Accept-Encoding"):
            self.set_header("Content-Encoding", "gzip")
            self.finish(found.gzipped)
        else:
            self.finish(found.raw)


class H5PageHandler(_ClientFile):
    """The H5 client's page (市民办事 for phone browsers, inside WeChat or Alipay too)."""

    @declare(answer=Raw("text/html", {"type": "string"}, "The H5 client's single page"))
    async def get(self) -> None:
        self.send_file("index.html")


class H5RootRedirect(BaseHandler):
    """/m → /m/ (the client's relative links need the slash)."""

    @declare(answer=None, status=301)
    async def get(self) -> None:
        self.redirect("/m/", permanent=True)


class H5AssetHandler(_ClientFile):
    """A file of the H5 client (ES module, style sheet, icon)."""

    path_params = ("name",)

    @declare(answer=Raw("application/octet-stream", {"type": "string", "format": "binary"},
                        "The file (JavaScript, CSS, SVG), revalidated by ETag"))
    async def get(self, name: str) -> None:
        self.send_file(name)


routes = [
    (r"/m", H5RootRedirect),
    (r"/m/", H5PageHandler),
    (r"/m/([A-Za-z0-9_-]+\.(?:js|css|svg|webmanifest))", H5AssetHandler),
]
