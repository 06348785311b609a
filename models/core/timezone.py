"""Asia/Shanghai, written once: the zone, the vendors' time formats, and local times as the API shows them.

Stored instants are UTC (the datastore hands back naive datetimes as UTC). Two vendor formats come in:
Alipay's "yyyy-MM-dd HH:mm:ss", which is Beijing time with no offset written (gmt_payment, gmt_refund,
send_pay_date, gmt_refund_pay, notify_time, timestamp, time_expire), and WeChat Pay's RFC 3339 with
its offset (success_time, create_time, time_expire). Reading the first as UTC once put a 19:32 payment
at 03:32 the next day; every module reads and writes them through this one.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

ALIPAY_FORMAT = "%Y-%m-%d %H:%M:%S"
_ALIPAY_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_RFC3339_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})")
_SHOWN = 40  # characters of a refused value quoted in the error


class VendorTimeError(ValueError):
    """A vendor's time that is not in the format the vendor documents (the message says which)."""

    def __init__(self, expected: str, value: object) -> None:
        shown = repr(value if not isinstance(value, str) else value[:_SHOWN])
        super().__init__(f"not a {expected} time: {shown}")


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    """The instant in UTC; a naive datetime is read as UTC (as the datastore stores them)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)).astimezone(datetime.UTC)


def local(moment: datetime.datetime) -> datetime.datetime:
    """The instant on Shanghai's wall clock (naive: UTC)."""
    return as_utc(moment).astimezone(SHANGHAI)


def local_iso(moment: datetime.datetime | None, timespec: str = "auto") -> str | None:
    """ISO 8601 in Asia/Shanghai ("2026-11-29T19:32:05+08:00"), the API's display zone; None stays None."""
    return None if moment is None else local(moment).isoformat(timespec=timespec)


def shown_time(value: Any) -> Any:
    """A datetime as `local_iso` shows it; any other value (None, a time already shown) unchanged."""
    return local_iso(value) if isinstance(value, datetime.datetime) else value


def local_instant(day: datetime.date, wall: datetime.time = datetime.time()) -> datetime.datetime:
    """The UTC instant of a Shanghai wall-clock time on `day` (its start by default)."""
    return datetime.datetime.combine(day, wall, tzinfo=SHANGHAI).astimezone(datetime.UTC)


def local_minute(moment: datetime.datetime) -> str:
    """"2026-11-29 19:32": Shanghai time to the minute, as messages to citizens show it."""
    return local(moment).strftime("%Y-%m-%d %H:%M")


def rfc3339(moment: datetime.datetime) -> str:
    """RFC 3339 in Beijing time to the second, as WeChat Pay writes and expects it."""
    return local(moment).isoformat(timespec="seconds")


def alipay_time(moment: datetime.datetime) -> str:
    """Alipay's "yyyy-MM-dd HH:mm:ss" (Beijing time, no offset)."""
    return local(moment).strftime(ALIPAY_FORMAT)


def parse_alipay_time(text: str) -> datetime.datetime:
    """Alipay's "yyyy-MM-dd HH:mm:ss" (Beijing time) as an aware UTC instant; VendorTimeError otherwise."""
    if not isinstance(text, str) or not _ALIPAY_TEXT.fullmatch(text):
        raise VendorTimeError("Alipay yyyy-MM-dd HH:mm:ss (Beijing)", text)
    try:
        wall = datetime.datetime.strptime(text, ALIPAY_FORMAT)
    except ValueError:  # 30 February, 24:00...
        raise VendorTimeError("Alipay yyyy-MM-dd HH:mm:ss (Beijing)", text) from None
    return wall.replace(tzinfo=SHANGHAI).astimezone(datetime.UTC)


def parse_rfc3339(text: str) -> datetime.datetime:
    """RFC 3339 with an offset (WeChat Pay's times) as an aware UTC instant; VendorTimeError otherwise."""
    if not isinstance(text, str) or not _RFC3339_TEXT.fullmatch(text):
        raise VendorTimeError("RFC 3339 (with offset)", text)
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:  # month 13, offset +24:00...
        raise VendorTimeError("RFC 3339 (with offset)", text) from None
    return parsed.astimezone(datetime.UTC)


def vendor_time_field(parse: Callable[[str], datetime.datetime], fields: Mapping[str, Any], name: str,
                      log: logging.Logger) -> datetime.datetime | None:
    """A vendor's time field (`parse`: parse_alipay_time or parse_rfc3339) as UTC; None when missing.

    A malformed one is logged and taken as missing (the caller then uses the time it heard of it):
    the message is signed and the money moved, so refusing it would only make the vendor retry.
    """
    text = fields.get(name)
    if text is None or text == "":
        return None
    try:
        return parse(text)
    except VendorTimeError as exc:
        log.warning("payment channel sent %s in an unexpected format (%s); using the time it arrived", name, exc)
        return None
