"""Pure rules behind applications: the streamed multipart parser, type sniffing, deadlines, form errors."""

from __future__ import annotations

import datetime
import io
import random
import zipfile

import pytest

from handlers.multipart import MAX_HEADER_BYTES, MultipartParser, header_params
from models import applications, deadlines, files
from models.core.timezone import SHANGHAI
from models.errors import BadRequest


def at(day: str, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def body_with(content: bytes, boundary: str = "XyZ-boundary-42") -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"material\"\r\n\r\nid_card\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()


def parse(body: bytes, sizes: list[int], boundary: bytes = b"XyZ-boundary-42") -> list[tuple[str, object]]:
    parser = MultipartParser(boundary)
    events: list[tuple[str, object]] = []
    position = 0
    for size in sizes:
        events += parser.feed(body[position:position + size])
        position += size
    events += parser.feed(body[position:])
    assert parser.done
    return events


@pytest.mark.parametrize("seed", range(5))
def test_multipart_parser_reassembles_any_chunking(seed: int) -> None:
    rng = random.Random(seed)
    # Content full of near-delimiters: CRLF, dashes, a boundary missing its last byte.
    content = b"".join(rng.choice([b"\r\n--XyZ-boundary-4", b"\r\n", b"--", b"x" * rng.randint(1, 300)])
                       for _ in range(400))
    body = body_with(content)
    sizes = [rng.randint(1, 97) for _ in range(len(body) // 40)]
    events = parse(body, sizes)
    kinds = [kind for kind, _ in events if kind != "data"]
    assert kinds == ["part", "end", "part", "end", "done"]
    file_start = [i for i, (kind, _) in enumerate(events) if kind == "part"][1]
    received = b"".join(value for kind, value in events[file_start:] if kind == "data")
    assert received == content


def test_multipart_parser_byte_by_byte() -> None:
    content = b"%PDF-1.4\r\n" + bytes(range(256)) * 4
    events = parse(body_with(content), [1] * 2000)
    assert b"".join(v for k, v in events if k == "data").endswith(content)


def test_multipart_parser_rejects_garbage_after_boundary() -> None:
    with pytest.raises(BadRequest):
        MultipartParser(b"b").feed(b"--bXX")


def test_multipart_parser_refuses_an_endless_part_header() -> None:
    parser = MultipartParser(b"b")
    parser.feed(b'--b\r\nContent-Disposition: form-data; name="file"; filename="')
    with pytest.raises(BadRequest) as raised:
        for _ in range(MAX_HEADER_BYTES // 1024 + 1):
            parser.feed(b"a" * 1024)
    assert raised.value.code == "malformed_multipart"


def test_header_params_handle_quotes_and_rfc5987() -> None:
    kind, params = header_params('form-data; name="file"; filename="a \\"b\\".pdf"; filename*=UTF-8\'\'%E6%8A%A4%E7%85%A7.pdf')
    assert kind == "form-data"
    assert params["name"] == "file"
    assert params["filename"] == "护照.pdf"  # the RFC 5987 form wins


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize("head, expected", [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", files.JPEG),
    (b"\x89PNG\r\n\x1a\n\x00\x00", files.PNG),
    (b"%PDF-1.7\n%\xe2\xe3", files.PDF),
    (_zip("OFD.xml", "Doc_0/Document.xml"), files.OFD),
    (_zip("[Content_Types].xml", "_rels/.rels", "word/document.xml"), files.DOCX),
    (_zip("notes.txt"), files.ZIP),
    (b"<html>not a document", None),
    (b"GIF89a", None),
])
def test_sniff_decides_by_content(head: bytes, expected: str | None) -> None:
    assert files.sniff(head) == expected


# ---- deadlines (2026: National Day holidays 1–7 Oct, adjusted working days Sun 20 Sep and Sat 10 Oct) ----
def test_deadline_counts_adjusted_working_sunday() -> None:
    record = deadlines.started(3, at("2026-09-18"))  # Friday
    assert record["due_date"] == "2026-09-22"  # Sun 20 (adjusted), Mon 21, Tue 22


def test_deadline_skips_national_day_and_counts_adjusted_saturday() -> None:
    record = deadlines.started(5, at("2026-09-29"))  # Tuesday
    # Wed 30 Sep, (1–7 Oct holiday), Thu 8, Fri 9, Sat 10 (adjusted), Mon 12
    assert record["due_date"] == "2026-10-12"
    shown = deadlines.view(record, at("2026-10-03"))
    assert (shown["days_left"], shown["overdue"]) == (4, False)
    late = deadlines.view(record, at("2026-10-13"))
    assert (late["days_left"], late["overdue"]) == (-1, True)


def test_deadline_pauses_for_supplement_and_carries_used_days() -> None:
    record = deadlines.started(5, at("2026-09-14"))  # Monday; Tue 15 ... Fri 18, Sun 20 (adjusted)
    assert record["due_date"] == "2026-09-20"
    record = deadlines.paused(record, at("2026-09-16"))  # Tue 15, Wed 16 used
    assert (record["used_days"], record["due_date"]) == (2, None)
    assert deadlines.view(record, at("2026-09-30"))["days_left"] == 3
    assert deadlines.view(record, at("2026-09-30"))["paused"] is True
    record = deadlines.resumed(record, at("2026-09-29"))  # 3 left from Tue 29: Wed 30, Thu 8, Fri 9
    assert record["due_date"] == "2026-10-09"
    done = deadlines.finished(record, at("2026-10-09", hour=16))
    assert done["late"] is False
    assert deadlines.view(done, at("2026-12-01"))["overdue"] is False


def test_same_day_promise_accepted_on_a_day_off_is_due_the_next_working_day() -> None:
    assert deadlines.started(0, at("2026-09-18"))["due_date"] == "2026-09-18"  # a Friday: that day
    assert deadlines.started(0, at("2026-09-19"))["due_date"] == "2026-09-20"  # Saturday → Sun 20 (adjusted)
    assert deadlines.started(0, at("2026-10-03"))["due_date"] == "2026-10-08"  # inside National Day
    record = deadlines.paused(deadlines.started(1, at("2026-09-14")), at("2026-09-15"))  # the one day used
    assert deadlines.resumed(record, at("2026-10-04"))["due_date"] == "2026-10-08"
    assert deadlines.view(deadlines.started(0, at("2026-09-19")), at("2026-09-20", hour=9))["overdue"] is False


def test_deadline_late_after_close_of_business() -> None:
    record = deadlines.started(1, at("2026-09-14"))
    assert deadlines.finished(record, at("2026-09-15", hour=18))["late"] is True


def test_no_deadline_without_a_promise() -> None:
    assert deadlines.started(None, at("2026-09-14")) is None
    assert deadlines.view(None, at("2026-09-14")) is None


# ---- form errors ------------------------------------------------------------------------------------
SCHEMA = {"type": "object", "required": ["applicant"], "additionalProperties": False, "properties": {
    "applicant": {"type": "object", "title": "申请人", "required": ["name", "phone"], "properties": {
        "name": {"type": "string", "title": "姓名", "x-title-en": "Name", "minLength": 2},
        "phone": {"type": "string", "title": "手机号", "x-title-en": "Mobile", "pattern": "^1[3-9][0-9]{9}$"},
        "birth": {"type": "string", "format": "date", "title": "出生日期", "x-title-en": "Date of birth"},
    }},
    "copies": {"type": "integer", "title": "份数", "x-title-en": "Copies", "minimum": 1, "maximum": 3},
}}


def test_form_errors_name_each_field_in_both_languages() -> None:
    errors = applications.form_errors(SCHEMA, {"applicant": {"name": "张", "birth": "2020-13-40"}, "copies": 9, "x": 1})
    by_field = {e.field: e for e in errors}
    assert set(by_field) == {"form.applicant.name", "form.applicant.phone", "form.applicant.birth", "form.copies", "form.x"}
    assert by_field["form.applicant.phone"].zh == "「手机号」为必填项"
    assert by_field["form.applicant.phone"].en == "Mobile is required"
    assert by_field["form.applicant.name"].en == "Name must be at least 2 characters"
    assert by_field["form.applicant.birth"].code == "format"
    assert by_field["form.copies"].zh == "「份数」应不大于 3"
    assert by_field["form.x"].code == "unknown_field"


def test_form_errors_name_list_items_by_index() -> None:
    schema = {"type": "object", "properties": {"children": {"type": "array", "items": {
        "type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 2}}}}}}
    errors = applications.form_errors(schema, {"children": [{"name": "王小明"}, {}, {"name": "王"}]})
    assert [(e.field, e.code) for e in errors] == [("form.children[1].name", "required"),
                                                   ("form.children[2].name", "minLength")]


def test_form_meanings_fold_synonyms_and_skip_sensitive() -> None:
    schema = {"type": "object", "properties": {"applicant": {"type": "object", "properties": {
        "applicant_name": {"type": "string"}, "id_card_no": {"type": "string"},
        "addr": {"type": "string", "x-meaning": "address"}}}}}
    form = {"applicant": {"applicant_name": "王五", "id_card_no": "110101199003070011", "addr": "杭州"}}
    assert applications.form_meanings(schema, form) == {"name": "王五", "address": "杭州"}


def test_fast_working_day_count_agrees_with_the_calendar() -> None:
    from models import workdays

    start = datetime.date(2025, 12, 20)
    for offset in range(0, 800, 7):
        for length in (0, 1, 5, 40, 400):
            a = start + datetime.timedelta(days=offset)
            b = a + datetime.timedelta(days=length)
            assert deadlines.workdays_between(a, b) == workdays.workdays_between(a, b)
            assert deadlines.workdays_between(b, a) == workdays.workdays_between(b, a)
