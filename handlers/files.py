"""Materials: streamed upload into GridFS, and download by the owner."""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

import tornado.web

from handlers.base import BaseHandler, citizen_required
from handlers.contract import Answer, Raw, Timestamp, declare
from handlers.multipart import StreamedForm
from models import files, ratelimit
from models.errors import DomainError

# ---- the contract ---------------------------------------------------------------------------------
UPLOAD = Raw("multipart/form-data", {
    "type": "object", "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the material; its type is read from its content"},
        "service_code": {"type": "string", "description": "with material: that material's allowed types and size"},
        "material": {"type": "string"},
    },
})
# A material is served with the type read from its content when it was uploaded.
DOWNLOAD = Raw(files.KNOWN_TYPES[0], {"type": "string", "format": "binary"},
               "The file as uploaded (Content-Type is its detected type; ETag its SHA-256)")
DOWNLOAD_AS = tuple(Raw(media, DOWNLOAD.schema) for media in (*files.KNOWN_TYPES[1:], files.ZIP,
                                                              "application/octet-stream"))


class UploadedFile(Answer):
    file_id: str
    name: str
    size: int
    content_type: str
    sha256: str
    uploaded_at: Timestamp | None = None


# Multipart framing around the file (boundaries, part headers, small fields) allowed on top of its size.
MULTIPART_OVERHEAD = 64 * 1024
UPLOADS_PER_HOUR = 200


@tornado.web.stream_request_body
class FilesHandler(BaseHandler):
    """Upload one material (multipart/form-data, streamed) → file_id, name, size, content_type, sha256.

    Query (or form fields before the file) `service_code` and `material` apply that material's
    allowed types and size limit; without them the site-wide limits apply.
    """

    async def prepare(self) -> None:
        self.upload: files.MaterialUpload | None = None
        self.max_body_bytes = self.ctx.settings.max_upload_bytes + MULTIPART_OVERHEAD
        await super().prepare()
        if self.request.method != "POST":
            return
        self.require_citizen()  # before the body streams in, not after it (post() is guarded too)
        await ratelimit.enforce(self.ctx.redis, f"upload:{self.principal.subject_id}", UPLOADS_PER_HOUR, 3600,
                                "upload_rate_limited", "上传过于频繁，请稍后再试", "Too many uploads, retry later")
        rules = await files.upload_rules(self.ctx, self.get_query_argument("service_code", ""),
                                         self.get_query_argument("material", ""))
        self.upload = files.MaterialUpload(self.ctx, self.principal.subject_id, rules, choose_rules=self._rules_from_fields)
        self.form = StreamedForm(self.request.headers.get("Content-Type"), self.upload)

    async def _rules_from_fields(self, fields: dict[str, str]) -> files.UploadRules | None:
        if fields.get("service_code") or fields.get("material"):
            return await files.upload_rules(self.ctx, fields.get("service_code", ""), fields.get("material", ""))
        return None

    async def body_received(self, chunk: bytes) -> None:
        if self.upload is None:
            return
        await self.form.feed(chunk)
        refused = self.upload.error or self.form.error
        if isinstance(refused, DomainError):  # too large, wrong type, malformed: the rest cannot help
            self.refuse_stream(refused)

    @citizen_required
    @declare(body=UPLOAD, answer=UploadedFile, status=201,
             errors={413: "Larger than the material allows", 415: "A type the material does not accept",
                     429: "Too many uploads"})
    async def post(self) -> None:
        """Upload one material (multipart/form-data, streamed) → file_id, name, size, content_type, sha256."""
        self.form.finish()
        self.write_json(await self.upload.finish(), 201)

    def on_connection_close(self) -> None:
        super().on_connection_close()
        if self.upload is not None and not self.upload.finished:
            asyncio.ensure_future(self.upload.discard())


class FileHandler(BaseHandler):
    """Download one of my uploaded materials."""

    path_params = ("id",)

    @citizen_required
    @declare(answer=DOWNLOAD, also=DOWNLOAD_AS)
    async def get(self, file_id: str) -> None:
        """Download one of my uploaded materials."""
        document = await files.owned_file(self.ctx.db, file_id, self.principal.subject_id)
        await send_file(self, document)


async def send_file(handler: BaseHandler, document: dict[str, Any]) -> None:
    """Stream a stored material to the client chunk by chunk, as an attachment."""
    meta = document.get("metadata") or {}
    name = document.get("filename") or "file"
    handler.set_header("Content-Type", meta.get("content_type") or "application/octet-stream")
    handler.set_header("Content-Length", str(int(document.get("length", 0))))
    handler.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}")
    if meta.get("sha256"):
        handler.set_header("ETag", f'"{meta["sha256"]}"')
    stream = await files.open_download(handler.ctx.db, document)
    while chunk := await stream.readchunk():
        handler.write(chunk)
        await handler.flush()
    handler.finish()


routes = [
    (r"/api/v1/files", FilesHandler),
    (r"/api/v1/files/([^/]+)", FileHandler),
]
