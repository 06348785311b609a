"""CSV exports, written once: UTF-8 with a byte-order mark (so Excel reads Chinese text), a header
row, and no cell that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

MEDIA_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"
# A text cell beginning with one of these is a formula to Excel and LibreOffice (CSV injection):
# such a cell is written with a leading apostrophe, which they show as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A value as a safe CSV cell: numbers as they are, text never read as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def encode(header: Sequence[str], rows: Iterable[Sequence[Any]], trailer: Sequence[str] | None = None) -> bytes:
    """The whole file: BOM, header, rows, and an optional last row (e.g. "truncated at N rows")."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    if trailer:
        writer.writerow([cell(v) for v in trailer])
    return out.getvalue().encode("utf-8")
