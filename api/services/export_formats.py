"""A subject's dossier as bytes: xlsx (one sheet per kind), JSON, or a zip of one CSV per kind.

The same dossier always gives the same bytes (fixed timestamps inside the zip containers),
so the SHA-256 recorded when a request is fulfilled identifies exactly what was delivered.
JSON is the exact form; the spreadsheet forms protect their readers: text that a
spreadsheet would run as a formula is kept as text, and control characters that xlsx cannot
hold are written as visible escapes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from domain.errors import InvalidInput

from api.services.dossier import Cell, Dossier

UTC_NOTE = (
    "All times are UTC. Excel cells cannot carry a time zone, so times are written as UTC "
    "without one; the JSON export carries the zone explicitly."
)
# xlsx (XML 1.0) cannot hold these control characters at all.
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MIN_WIDTH, _MAX_WIDTH = 10, 60


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


def _about(dossier: Dossier) -> list[tuple[str, Cell]]:
    return [
        ("subject_id", str(dossier.subject_id)),
        ("tenant_id", None if dossier.tenant_id is None else str(dossier.tenant_id)),
        ("erased", dossier.erased),
        ("generated_at", dossier.generated_at),
        ("ledger_position", dossier.position),
        ("time_zone", "UTC"),
        ("note", UTC_NOTE),
    ]


# JSON
def _json_value(value: Cell) -> Any:
    return _utc(value).isoformat() if isinstance(value, datetime) else value


def to_json(dossier: Dossier) -> bytes:
    document: dict[str, Any] = {key: _json_value(value) for key, value in _about(dossier)
                                if key != "note"}
    document["sheets"] = {
        sheet.kind: [{k: _json_value(v) for k, v in record.items()} for record in sheet.records()]
        for sheet in dossier.sheets
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


# xlsx
def _excel_text(value: str) -> str:
    return _ILLEGAL_XLSX.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def _write_sheet(book: Workbook, title: str, columns: tuple[str, ...],
                 rows: list[tuple[Cell, ...]] | tuple[tuple[Cell, ...], ...]) -> None:
    """One sheet, written as it streams (openpyxl's write-only mode, time linear in the rows):
    what the layout needs (widths, which columns hold times) is learnt in a first pass."""
    widths = [len(c) + 2 for c in columns]
    dated = [False] * len(columns)
    for row in rows:
        for i, value in enumerate(row):
            if isinstance(value, datetime):
                dated[i] = True
                widths[i] = max(widths[i], 21)
            elif value is not None:
                widths[i] = max(widths[i], len(value if type(value) is str else str(value)) + 2)
    sheet = book.create_sheet(title=title[:31])
    for i in range(len(columns)):
        letter = get_column_letter(i + 1)
        sheet.column_dimensions[letter].width = min(max(widths[i], _MIN_WIDTH), _MAX_WIDTH)
    sheet.freeze_panes = "A2"  # the header stays in view while scrolling
    if rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    header = []
    for i, column in enumerate(columns):
        cell = WriteOnlyCell(sheet, value=column)
        cell.font = _BOLD
        if dated[i]:
            cell.comment = Comment(UTC_NOTE, "compliance-ledger")
        header.append(cell)
    sheet.append(header)
    illegal = _ILLEGAL_XLSX.search
    for row in rows:
        values: list[Any] = []
        for value in row:  # the cells of a long history: kept to the cheapest checks
            if type(value) is str:
                if illegal(value):
                    value = _excel_text(value)
                if value[:1] == "=":
                    value = _text_cell(sheet, value)
            elif isinstance(value, datetime):
                # A plain value: openpyxl gives it its date format (yyyy-mm-dd h:mm:ss)
                # itself; a cell of our own per time cost a fifth of the whole file.
                value = _utc(value).replace(tzinfo=None)
            values.append(value)
        sheet.append(values)


_BOLD = Font(bold=True)


def _text_cell(sheet: Any, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # kept as text: never run as a formula
    return cell


def to_xlsx(dossier: Dossier) -> bytes:
    book = Workbook(write_only=True)
    _write_sheet(book, "About", ("field", "value"), _about(dossier))
    for sheet in dossier.sheets:
        _write_sheet(book, sheet.title, sheet.columns, sheet.rows)
    moment = _utc(dossier.generated_at).replace(tzinfo=None, microsecond=0)
    book.properties.creator = "compliance-ledger"
    book.properties.created = book.properties.modified = moment
    buffer = io.BytesIO()
    # What `book.save` does, into a zip that stores rather than compresses: `_repack`
    # compresses every entry once anyway (and `save` would stamp "modified" with the clock).
    ExcelWriter(book, zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True)).save()
    return _repack(buffer.getvalue(), dossier.generated_at)


def _repack(archive: bytes, moment: datetime) -> bytes:
    """The same zip with every entry stamped `moment`, so equal content gives equal bytes.
    Compressed here, once, at the fastest level: the sheets' XML shrinks nearly as well, in a
    third of the time of the default level."""
    stamp = _zip_time(moment)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            target.writestr(zipfile.ZipInfo(info.filename, date_time=stamp),
                            source.read(info.filename), zipfile.ZIP_DEFLATED, 1)
    return out.getvalue()


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    u = _utc(moment)
    return (max(u.year, 1980), u.month, u.day, u.hour, u.minute, u.second)


# CSV
def _csv_value(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text  # shown as text by spreadsheet programs, never run
    return text


def csv_text(columns: tuple[str, ...] | list[str],
             rows: list[tuple[Cell, ...]] | tuple[tuple[Cell, ...], ...],
             header: bool = True) -> str:
    """`header=False` for the later pieces of a CSV written in pieces."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return buffer.getvalue()


def to_csv_zip(dossier: Dossier) -> bytes:
    stamp = _zip_time(dossier.generated_at)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        about = csv_text(("field", "value"), _about(dossier))
        files: list[tuple[str, str]] = [("about.csv", about)]
        files += [(f"{s.kind}.csv", csv_text(s.columns, s.rows)) for s in dossier.sheets]
        for name, text in files:
            # UTF-8 with a byte-order mark, so spreadsheet programs read "Zoë" as Zoë.
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp),
                             text.encode("utf-8-sig"), zipfile.ZIP_DEFLATED)
    return out.getvalue()


# One call for the router
@dataclass(frozen=True)
class Export:
    content: bytes
    media_type: str
    filename: str
    format: str

    @property
    def sha256(self) -> str:
        return sha256_hex(self.content)


FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", to_xlsx),
    "json": ("application/json", "json", to_json),
    "csv": ("application/zip", "csv.zip", to_csv_zip),
}


def render(dossier: Dossier, format: str) -> Export:
    """InvalidInput("format") for anything but xlsx, json or csv."""
    try:
        media_type, extension, write = FORMATS[format]
    except KeyError:
        raise InvalidInput("format", "format must be one of: xlsx, json, csv") from None
    stamp = _utc(dossier.generated_at).strftime("%Y%m%dT%H%M%SZ")
    return Export(write(dossier), media_type,
                  f"subject-{dossier.subject_id}-{stamp}.{extension}", format)
