"""Customer files for tests and benchmarks: a minimal ``.xlsx`` writer.

The import reads workbooks with python-calamine, which cannot write them; rather than a
second spreadsheet library just to make test files, this writes the few XML parts a
workbook needs (one sheet, strings inline, numbers as numbers), which every reader opens.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape

__all__ = ["write_xlsx"]

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_OPENXML = "http://schemas.openxmlformats.org"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_RELATION = f"{_OPENXML}/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    f'{_XML}<Types xmlns="{_OPENXML}/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_OPENXML}/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_RELATION}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    f'{_XML}<workbook xmlns="{_OPENXML}/spreadsheetml/2006/main" xmlns:r="{_RELATION}">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'{_XML}<Relationships xmlns="{_OPENXML}/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_RELATION}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
_SHEET_HEAD = f'{_XML}<worksheet xmlns="{_OPENXML}/spreadsheetml/2006/main"><sheetData>'
_SHEET_TAIL = "</sheetData></worksheet>"


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell(reference: str, value: object) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<c r="{reference}"><v>{value}</v></c>'
    text = escape(str(value))
    return f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def write_xlsx(
    path: str | os.PathLike[str],
    rows: Iterable[Sequence[object]],
    *,
    sheet: str = "Customers",
    first_row: int = 1,
) -> None:
    """Write ``rows`` (text or numbers; None or "" for an empty cell) to one sheet,
    starting at row ``first_row`` (Excel's numbering). Rows are written as they come, so a
    generator of 50,000 rows costs no memory."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK.format(name=escape(sheet)))
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with book.open("xl/worksheets/sheet1.xml", "w") as part:
            part.write(_SHEET_HEAD.encode())
            for number, row in enumerate(rows, start=first_row):
                cells = "".join(
                    _cell(f"{_column(at)}{number}", value) for at, value in enumerate(row)
                )
                part.write(f'<row r="{number}">{cells}</row>'.encode())
            part.write(_SHEET_TAIL.encode())
