"""Application numbers (办件编号), readable and unique per region and day, and the query codes that
let anyone holding both follow the progress."""

from __future__ import annotations

import datetime
import secrets

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models.core.timezone import local
from models.errors import Conflict

QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
QUERY_CODE_LENGTH = 8


async def allocate_number(db: AsyncDatabase, region_code: str, now: datetime.datetime) -> str:
    """A readable unique number: region code, local date, and that day's sequence (330100-20261123-000042)."""
    day = local(now).strftime("%Y%m%d")
    region = region_code if isinstance(region_code, str) and region_code.isascii() and region_code.isdigit() else "000000"
    for _ in range(3):
        try:
            counter = await db.counters.find_one_and_update(
                {"_id": f"application:{region}:{day}"}, {"$inc": {"seq": 1}, "$set": {"updated_at": now}},
                upsert=True, return_document=ReturnDocument.AFTER)
            return f"{region}-{day}-{counter['seq']:06d}"
        except DuplicateKeyError:  # two first-of-the-day upserts raced; the counter exists now
            continue
    raise Conflict("number_unavailable", "暂时无法分配办件编号，请重试", "Could not allocate a number; retry")


def new_query_code() -> str:
    """A fresh random query code (8 characters that cannot be misread)."""
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))
