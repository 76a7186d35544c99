"""Open a customer file (CSV or ``.xlsx``) and read it lazily as :class:`ImportRow` values.

:func:`read_file` returns an :class:`ImportFile`: iterate it for the rows to create (pass
it straight to :meth:`~poolkit.service.PoolService.import_customers`, which consumes it in
batches), and find in :attr:`ImportFile.issues` the rows it could not take, as ready
:class:`RowResult` values with their line numbers:

- a line that does not decode in the file's encoding (``INVALID``);
- an unterminated quote or otherwise malformed quoting (``INVALID``);
- more non-empty cells than the header has columns (``INVALID``): a shifted row would put
  a phone into the grade, so it is refused rather than guessed at;
- an id already used by an earlier row of the file (``DUPLICATE``, ``duplicate_of_row``).

Memory stays bounded for CSV whatever its size: lines are read one at a time and at most
:data:`~poolkit.importing.csvfile.MAX_RECORD_LINES` are held; what grows is one entry per
id seen (to find repeated ids) and one per refused row.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from poolkit.errors import ConfigError
from poolkit.importing.csvfile import Damaged, Record, records
from poolkit.importing.encoding import decoded_lines, encoding_name
from poolkit.importing.rows import Columns, ImportReport, ImportRow, Outcome, RowResult
from poolkit.importing.xlsxfile import sheet_records

__all__ = ["ImportFile", "read_file"]

XLSX_SUFFIXES = (".xlsx", ".xlsm")


class ImportFile:
    """The rows of one file, read as they are iterated (once). See :func:`read_file`."""

    def __init__(self, path: Path, *, encoding: str | None, sheet: str | int) -> None:
        self.path = path
        self.issues: list[RowResult] = []
        self._forced = encoding_name(encoding, str(path)) if encoding is not None else None
        self._encoding: str | None = self._forced
        self._sheet = sheet
        self._size = path.stat().st_size if path.exists() else 0
        self._handle: BinaryIO | None = None
        self._started = False
        self._rows_read = 0
        # The header is read now, so that a file that is no customer file is refused
        # before anything is imported.
        self._found = self._records()
        try:
            header = next(self._found, None)
            if isinstance(header, Damaged):
                raise ConfigError(str(path), f"line {header.line}: {header.message}")
            if header is None:
                raise ConfigError(str(path), "the file is empty: no header row")
            self._columns = Columns.of(str(path), header.cells)
        except BaseException:
            self.close()
            raise

    @property
    def is_xlsx(self) -> bool:
        return self.path.suffix.lower() in XLSX_SUFFIXES

    @property
    def encoding(self) -> str | None:
        """The text encoding read (``ascii`` while only ASCII has been seen); None for xlsx."""
        return self._encoding

    @property
    def rows_read(self) -> int:
        """Rows read so far, taken or refused (the header not counted)."""
        return self._rows_read

    @property
    def fraction_read(self) -> float | None:
        """How much of the file has been read, 0..1 (for a CSV, by bytes), for a progress
        display's time left; None when unknown (an xlsx is loaded at once)."""
        if self.is_xlsx or self._size == 0:
            return None
        if self._handle is None or self._handle.closed:
            return 1.0 if self._started else 0.0
        return min(1.0, self._handle.tell() / self._size)

    def report(self, created: ImportReport) -> ImportReport:
        """The service's report of the rows read, with the rows refused here, by line."""
        return created.with_results(self.issues)

    def __iter__(self) -> Iterator[ImportRow]:
        if self._started:
            raise ConfigError(str(self.path), "an ImportFile is read once; open it again")
        self._started = True
        return self._rows()

    def _rows(self) -> Iterator[ImportRow]:
        seen_ids: dict[str, int] = {}
        seen_external: dict[str, int] = {}
        columns = self._columns
        try:
            for record in self._found:
                self._rows_read += 1
                if isinstance(record, Damaged):
                    self._refuse(record.line, record.message)
                    continue
                extra = [cell for cell in record.cells[columns.width :] if cell.strip()]
                if extra:
                    used = max(at for at, cell in enumerate(record.cells) if cell.strip()) + 1
                    self._refuse(
                        record.line,
                        f"{used} cells, the header has {columns.width} columns"
                        f" (first extra cell: {extra[0].strip()!r})",
                    )
                    continue
                row = columns.row(record.line, record.cells)
                if self._repeated(row.row, "id", row.customer_id, seen_ids):
                    continue
                if self._repeated(row.row, "external id", row.external_id, seen_external):
                    continue
                yield row
        finally:
            self.close()

    def _repeated(self, line: int, what: str, value: str | None, seen: dict[str, int]) -> bool:
        """Whether ``value`` (an id or an external id) was on an earlier row; if so, the row
        is reported as a ``DUPLICATE`` of that row."""
        if value is None:
            return False
        earlier = seen.setdefault(value, line)
        if earlier == line:
            return False
        self.issues.append(
            RowResult(
                line,
                Outcome.DUPLICATE,
                message=f"{what} {value!r} duplicates row {earlier}",
                duplicate_of_row=earlier,
            )
        )
        return True

    def _refuse(self, line: int, message: str) -> None:
        self.issues.append(RowResult(line, Outcome.INVALID, message=message))

    def _records(self) -> Iterator[Record | Damaged]:
        if self.is_xlsx:
            yield from sheet_records(self.path, self._sheet)
            return
        try:
            self._handle = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        except OSError as error:
            raise ConfigError(str(self.path), f"cannot read: {error}") from error
        lines = self._tracked(decoded_lines(self._handle, self._forced))
        first = next(lines, None)
        if first is None:
            return
        # Excel's "Unicode text" export is tab-separated; a header with tabs and no comma
        # says which one this file uses.
        text = first[1] or ""
        delimiter = "\t" if "\t" in text and "," not in text else ","
        header_records = records(iter([first]), delimiter)
        header = next(header_records, None)
        if header is None:
            return
        yield header
        width = len(header.cells) if isinstance(header, Record) else None
        yield from records(lines, delimiter, width)

    def _tracked(
        self, lines: Iterator[tuple[int, str | None, str]]
    ) -> Iterator[tuple[int, str | None, str]]:
        for item in lines:
            self._encoding = item[2]
            yield item

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def read_file(
    path: str | os.PathLike[str], *, encoding: str | None = None, sheet: str | int = 0
) -> ImportFile:
    """The customers in ``path``: a CSV (UTF-8 with or without a byte-order mark, GBK /
    GB18030 or UTF-16, found out from the file unless ``encoding`` names it; comma- or
    tab-separated) or an ``.xlsx`` workbook (its ``sheet``, a name or an index from 0;
    needs the ``xlsx`` extra). Nothing is read until the result is iterated.

    The first row is the header: ``name`` is required; ``id``, ``external_id`` (the
    row's id in the system it comes from, stored so that an import run again skips it),
    ``grade``, ``tags`` (separated by ``;``), ``phone``/``email``/``uscc``/``org_code``
    (several values separated by ``;``) are optional; any other column becomes an
    attribute. Empty cells are ignored. A missing or empty file, an unknown encoding or a
    header without ``name`` raise :class:`~poolkit.errors.ConfigError`."""
    where = Path(path)
    if not where.is_file():
        raise ConfigError(str(where), "cannot read: no such file")
    return ImportFile(where, encoding=encoding, sheet=sheet)
