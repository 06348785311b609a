"""Materials (申请材料) uploaded by citizens: stored in GridFS, typed by content, owned by the uploader.

An upload is written to the GridFS layout chunk by chunk as it arrives (bucket `materials`), hashed
with SHA-256 on the way, and its type is decided from its first bytes, never from the file name.
pymongo's upload stream keeps every chunk in memory until `close()` (up to 48 MB), so this module
inserts each 255 KiB chunk itself; files are read back with `AsyncGridFSBucket` as usual.

A file is visible only to its owner; an application refers to its materials by file id, and
`owned_file` is the one check both the download route and the application rules use.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from typing import Any

import gridfs
from bson import Binary, Int64, ObjectId
from bson.errors import InvalidId
from pymongo.asynchronous.database import AsyncDatabase

from models import catalogue
from models.core.context import Context
from models.core.timezone import local_iso
from models.errors import DomainError, FieldError, NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

BUCKET = "materials"
CHUNK_BYTES = 255 * 1024
# Enough of the head to find the entries of an OOXML or OFD zip package.
SNIFF_BYTES = 64 * 1024

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
OFD = "application/ofd"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP = "application/zip"
KNOWN_TYPES = (JPEG, PNG, PDF, OFD, DOCX)
TYPE_NAMES = {JPEG: "JPEG", PNG: "PNG", PDF: "PDF", OFD: "OFD", DOCX: "Word (docx)", ZIP: "ZIP"}


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db[f"{BUCKET}.chunks"].create_index([("files_id", 1), ("n", 1)], unique=True)
    await db[f"{BUCKET}.files"].create_index([("filename", 1), ("uploadDate", 1)])
    await db[f"{BUCKET}.files"].create_index("metadata.owner_id")


# ---- content types -------------------------------------------------------------------------------
def sniff(head: bytes) -> str | None:
    """The content type of a file from its first bytes; None when it is none we know."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if b"%PDF-" in head[:1024]:  # the header may follow a few junk bytes (PDF 32000-1, 7.5.2)
        return PDF
    if head.startswith(b"PK\x03\x04"):
        names = zip_entry_names(head)
        if "OFD.xml" in names:  # GB/T 33190: the package's entry document
            return OFD
        if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names):
            return DOCX
        return ZIP
    return None


def zip_entry_names(head: bytes) -> set[str]:
    """Names in the zip local file headers found in `head` (the central directory is at the end)."""
    names: set[str] = set()
    start = 0
    while (start := head.find(b"PK\x03\x04", start)) >= 0:
        if start + 30 <= len(head):
            length = int.from_bytes(head[start + 26:start + 28], "little")
            raw = head[start + 30:start + 30 + length]
            if len(raw) == length:
                names.add(raw.decode("utf-8", errors="replace"))
        start += 4
    return names


@dataclasses.dataclass(frozen=True)
class UploadRules:
    """What one upload may be: its allowed content types and its size limit."""

    allowed_types: tuple[str, ...]
    max_bytes: int
    service_code: str = ""
    material: str = ""


def rules_for_material(material: dict[str, Any], ceiling: int, service_code: str = "") -> UploadRules:
    """The rules a service item's material declares, never above the site-wide `ceiling`."""
    allowed = tuple(material.get("allowed_types") or KNOWN_TYPES)
    limit = material.get("max_bytes") or ceiling
    return UploadRules(allowed, min(int(limit), ceiling), service_code, str(material.get("key", "")))


def type_not_allowed(content_type: str | None, allowed: tuple[str, ...]) -> UnsupportedMediaType:
    found = TYPE_NAMES.get(content_type or "", "未知" if content_type is None else content_type)
    found_en = TYPE_NAMES.get(content_type or "", "unknown" if content_type is None else content_type)
    names = "、".join(TYPE_NAMES.get(t, t) for t in allowed)
    return UnsupportedMediaType(
        "file_type_not_allowed", f"文件类型（{found}）不在允许范围内，请上传 {names} 格式",
        f"File type ({found_en}) is not allowed here; upload {', '.join(TYPE_NAMES.get(t, t) for t in allowed)}",
        extra={"detected_type": content_type, "allowed_types": list(allowed)})


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("file_too_large", f"文件超过大小上限（{_size(limit)}）",
                           f"The file exceeds the size limit ({_size(limit)})", extra={"limit_bytes": limit})


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


# ---- upload --------------------------------------------------------------------------------------
class MaterialUpload:
    """One material being received: sniffed, size-checked, hashed and written to GridFS as it streams.

    A refused upload (wrong type, too large) keeps its error, drops what it wrote and ignores the rest
    of the stream; `finish()` raises the error, so the request is answered once the body is read.
    """

    def __init__(self, ctx: Context, owner_id: str, rules: UploadRules,
                 choose_rules: Any = None) -> None:
        self.ctx = ctx
        self.owner_id = owner_id
        self.rules = rules
        self.choose_rules = choose_rules  # async (fields) -> UploadRules | None, for fields sent before the file
        self.file_id = ObjectId()
        self.filename = ""
        self.size = 0
        self.content_type: str | None = None
        self.error: DomainError | None = None
        self.finished = False
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self._pending = bytearray()
        self._chunks_written = 0
        self._chunks = ctx.db[f"{BUCKET}.chunks"]

    async def begin(self, filename: str, fields: dict[str, str]) -> None:
        self.filename = filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or "file"
        if self.choose_rules is not None:
            chosen = await self.choose_rules(fields)
            if chosen is not None:
                self.rules = chosen

    async def write(self, data: bytes) -> None:
        if self.error is not None:
            return
        self.size += len(data)
        if self.size > self.rules.max_bytes:
            await self._refuse(too_large(self.rules.max_bytes))
            return
        self._hash.update(data)
        if self.content_type is None:
            self._head += data
            if len(self._head) < SNIFF_BYTES:
                return
            if not await self._decide_type():
                return
            data, self._head = bytes(self._head), bytearray()
        await self._store(data)

    async def _decide_type(self) -> bool:
        detected = sniff(bytes(self._head[:SNIFF_BYTES]))
        if detected not in self.rules.allowed_types:
            await self._refuse(type_not_allowed(detected, self.rules.allowed_types))
            return False
        self.content_type = detected
        return True

    async def _store(self, data: bytes) -> None:
        self._pending += data
        while len(self._pending) >= CHUNK_BYTES:
            await self._insert_chunk(bytes(self._pending[:CHUNK_BYTES]))
            del self._pending[:CHUNK_BYTES]

    async def _insert_chunk(self, data: bytes) -> None:
        await self._chunks.insert_one({"files_id": self.file_id, "n": self._chunks_written, "data": Binary(data)})
        self._chunks_written += 1

    async def _refuse(self, error: DomainError) -> None:
        self.error = error
        self._head = bytearray()
        self._pending = bytearray()
        await self.discard()

    async def discard(self) -> None:
        """Remove whatever chunks this upload wrote (refused, or the client went away)."""
        if self._chunks_written and not self.finished:
            await self._chunks.delete_many({"files_id": self.file_id})
            self._chunks_written = 0

    async def finish(self) -> dict[str, Any]:
        """Complete the upload and return its public description; raise the upload's error if any."""
        if self.error is None and self.content_type is None:
            if self.size == 0:
                raise ValidationFailed("file_empty", "上传的文件为空", "The uploaded file is empty",
                                       errors=[FieldError("file", "file_empty", "文件为空", "The file is empty")])
            if await self._decide_type():
                await self._store(bytes(self._head))
                self._head = bytearray()
        if self.error is not None:
            raise self.error
        if self._pending:
            await self._insert_chunk(bytes(self._pending))
            self._pending = bytearray()
        now = self.ctx.clock()
        document = {
            "_id": self.file_id, "filename": self.filename, "length": Int64(self.size), "chunkSize": CHUNK_BYTES,
            "uploadDate": now,
            "metadata": {"owner_id": self.owner_id, "content_type": self.content_type, "sha256": self._hash.hexdigest(),
                         "service_code": self.rules.service_code, "material": self.rules.material},
        }
        await self.ctx.db[f"{BUCKET}.files"].insert_one(document)
        self.finished = True
        return describe(document)


def describe(document: dict[str, Any]) -> dict[str, Any]:
    """The public description of a stored material."""
    meta = document.get("metadata") or {}
    uploaded = document.get("uploadDate")
    if isinstance(uploaded, str):  # nx-27017 hands GridFS dates back as naive UTC ISO strings
        uploaded = datetime.datetime.fromisoformat(uploaded)
    return {
        "file_id": str(document["_id"]), "name": document.get("filename", ""), "size": int(document.get("length", 0)),
        "content_type": meta.get("content_type"), "sha256": meta.get("sha256"),
        "uploaded_at": local_iso(uploaded) if isinstance(uploaded, datetime.datetime) else None,
    }


# ---- reading -------------------------------------------------------------------------------------
def _object_id(file_id: str) -> ObjectId | None:
    try:
        return ObjectId(file_id)
    except (InvalidId, TypeError):
        return None


FILE_NOT_FOUND = ("file_not_found", "未找到该文件", "File not found")


async def find_files(db: AsyncDatabase, file_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Stored file documents by id (ids that are malformed or unknown are simply absent)."""
    ids = [oid for oid in (_object_id(f) for f in file_ids) if oid is not None]
    if not ids:
        return {}
    cursor = db[f"{BUCKET}.files"].find({"_id": {"$in": ids}})
    return {str(doc["_id"]): doc async for doc in cursor}


async def owned_file(db: AsyncDatabase, file_id: str, owner_id: str) -> dict[str, Any]:
    """The file document when `owner_id` uploaded it; 404 otherwise (no hint that it exists)."""
    oid = _object_id(file_id)
    document = await db[f"{BUCKET}.files"].find_one({"_id": oid}) if oid else None
    if document is None or (document.get("metadata") or {}).get("owner_id") != owner_id:
        raise NotFound(*FILE_NOT_FOUND)
    return document


async def open_download(db: AsyncDatabase, document: dict[str, Any]) -> Any:
    """A GridFS download stream for a stored material (`await stream.readchunk()` until b"")."""
    return await gridfs.AsyncGridFSBucket(db, bucket_name=BUCKET).open_download_stream(document["_id"])


async def upload_rules(ctx: Context, service_code: str = "", material_key: str = "") -> UploadRules:
    """The rules for an upload meant for `material_key` of item `service_code` (site defaults without)."""
    ceiling = ctx.settings.max_upload_bytes
    if not service_code and not material_key:
        return UploadRules(KNOWN_TYPES, ceiling)
    item = await catalogue.get_published_item(ctx.db, service_code)
    for material in (item.get("guide") or {}).get("materials") or []:
        if material.get("key") == material_key:
            return rules_for_material(material, ceiling, service_code)
    raise ValidationFailed(errors=[FieldError("material", "unknown_material", f"该事项没有材料「{material_key}」",
                                              f"The service item has no material {material_key!r}")])
