"""Bulk import (批量导入): files in, rows out, and a per-row report of what became of each.

:func:`read_file` reads a CSV or ``.xlsx`` file lazily into :class:`ImportRow` values and
reports the rows it cannot take; :meth:`poolkit.service.PoolService.import_customers`
creates the rows and reports, row by row, whether each was created, collided with an
existing customer (and whose it is), duplicated an earlier row of the same file, or was
invalid, and why. See ``docs/import.md``.
"""

from poolkit.importing.reader import ImportFile, read_file
from poolkit.importing.rows import ImportReport, ImportRow, Outcome, RowResult

__all__ = ["ImportFile", "ImportReport", "ImportRow", "Outcome", "RowResult", "read_file"]
