"""Asia/Shanghai written once: the vendors' time formats read in one place, local times rendered in one."""

from __future__ import annotations

import datetime

import pytest

from models.core import timezone

UTC = datetime.UTC


def test_shanghai_is_the_iana_zone() -> None:
    assert str(timezone.SHANGHAI) == "Asia/Shanghai"
    summer_1988 = datetime.datetime(1988, 7, 1, 12, tzinfo=timezone.SHANGHAI)  # China kept DST 1986-1991
    assert summer_1988.utcoffset() == datetime.timedelta(hours=9)


# ---- Alipay: "yyyy-MM-dd HH:mm:ss", Beijing time, no offset -------------------------------------------
@pytest.mark.parametrize("text, instant", [
    ("2026-11-29 19:32:05", datetime.datetime(2026, 11, 29, 11, 32, 5, tzinfo=UTC)),
    ("2026-11-30 03:00:00", datetime.datetime(2026, 11, 29, 19, 0, 0, tzinfo=UTC)),  # across midnight
    ("2027-01-01 07:59:59", datetime.datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)),  # across the new year
])
def test_alipay_times_are_beijing_time(text: str, instant: datetime.datetime) -> None:
    parsed = timezone.parse_alipay_time(text)
    assert parsed == instant and parsed.utcoffset() == datetime.timedelta(0)
    assert timezone.alipay_time(instant) == text


@pytest.mark.parametrize("bad", [
    "", "   ", "2026-11-29", "2026-11-29T19:32:05", "2026-11-29 19:32:05+08:00", "2026-11-29 19:32:05Z",
    "2026-11-29 19:32", "2026-11-29 19:32:05.123", "2026-02-30 10:00:00", "2026-11-29 24:00:00",
    "2026-11-29  19:32:05", " 2026-11-29 19:32:05", "２０２６-11-29 19:32:05", "2026-11-29 19:32:05\n",
    "1e400", "\ud800", "2026-11-29 19:32:05" * 1000,
])
def test_bad_alipay_times_are_clear_errors(bad: str) -> None:
    with pytest.raises(timezone.VendorTimeError) as caught:
        timezone.parse_alipay_time(bad)
    assert "yyyy-MM-dd HH:mm:ss" in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("bad", [None, 1764416000, datetime.datetime(2026, 11, 29), b"2026-11-29 19:32:05"])
def test_alipay_times_that_are_not_text_are_clear_errors(bad: object) -> None:
    with pytest.raises(timezone.VendorTimeError):
        timezone.parse_alipay_time(bad)  # type: ignore[arg-type]


# ---- WeChat Pay: RFC 3339 with an offset -------------------------------------------------------------
@pytest.mark.parametrize("text, instant", [
    ("2026-11-29T19:32:05+08:00", datetime.datetime(2026, 11, 29, 11, 32, 5, tzinfo=UTC)),
    ("2026-11-29T11:32:05Z", datetime.datetime(2026, 11, 29, 11, 32, 5, tzinfo=UTC)),
    ("2026-11-29T11:32:05.250+00:00", datetime.datetime(2026, 11, 29, 11, 32, 5, 250000, tzinfo=UTC)),
    ("2026-11-29T06:32:05-05:00", datetime.datetime(2026, 11, 29, 11, 32, 5, tzinfo=UTC)),
    ("2015-05-20T13:29:35+08:00", datetime.datetime(2015, 5, 20, 5, 29, 35, tzinfo=UTC)),
])
def test_wechatpay_times_are_rfc3339_with_an_offset(text: str, instant: datetime.datetime) -> None:
    parsed = timezone.parse_rfc3339(text)
    assert parsed == instant and parsed.utcoffset() == datetime.timedelta(0)


def test_rfc3339_rendering_is_beijing_time_to_the_second() -> None:
    moment = datetime.datetime(2026, 11, 29, 11, 32, 5, 987000, tzinfo=UTC)
    assert timezone.rfc3339(moment) == "2026-11-29T19:32:05+08:00"
    assert timezone.parse_rfc3339(timezone.rfc3339(moment)) == moment.replace(microsecond=0)


@pytest.mark.parametrize("bad", [
    "", "2026-11-29T19:32:05", "2026-11-29 19:32:05", "2026-11-29 19:32:05+08:00", "2026-11-29",
    "2026-11-29T19:32+08:00", "2026-13-01T00:00:00+08:00", "2026-11-29T19:32:05+24:00", "20261129T193205+0800",
    "2026-11-29T19:32:05+08:00 ", "２０２６-11-29T19:32:05+08:00", "\ud800", "x" * 10_000, None, 0,
])
def test_bad_rfc3339_times_are_clear_errors(bad: object) -> None:
    with pytest.raises(timezone.VendorTimeError) as caught:
        timezone.parse_rfc3339(bad)  # type: ignore[arg-type]
    assert "RFC 3339" in str(caught.value)


# ---- rendering ---------------------------------------------------------------------------------------
def test_local_iso_renders_in_shanghai_and_reads_naive_as_utc() -> None:
    aware = datetime.datetime(2026, 11, 29, 11, 32, 5, tzinfo=UTC)
    assert timezone.local_iso(aware) == "2026-11-29T19:32:05+08:00"
    assert timezone.local_iso(aware.replace(tzinfo=None)) == "2026-11-29T19:32:05+08:00"  # stored datetimes are UTC
    assert timezone.local_iso(None) is None
    assert timezone.local_minute(aware) == "2026-11-29 19:32"
    assert timezone.local(aware).date() == datetime.date(2026, 11, 29)
    assert timezone.local(datetime.datetime(2026, 11, 29, 16, 0, tzinfo=UTC)).date() == datetime.date(2026, 11, 30)
