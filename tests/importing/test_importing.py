"""Reading customer files for import: encodings, spreadsheets and damaged rows, each with a
small file made here, and the rows the reader refuses reported by their line numbers."""

from __future__ import annotations

import codecs
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from poolkit import ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.errors import ConfigError
from poolkit.importer import read_csv
from poolkit.importing import ImportFile, Outcome, RowResult, read_file
from poolkit.importing.csvfile import MAX_RECORD_LINES
from poolkit.testing.files import write_xlsx

BOOK = (
    "name,phone,grade,city\n"
    "深圳市华强科技有限公司,138 0013 8000,B,深圳\n"
    "北京某某贸易有限公司,13900139000,C,北京\n"
)
TABBED = BOOK.replace(",", "\t").replace("\n", "\r\n")
NAMES = ["深圳市华强科技有限公司", "北京某某贸易有限公司"]


def names(found: ImportFile) -> list[str]:
    return [row.name for row in found]


def written(tmp_path: Path, data: bytes, name: str = "book.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("label", "data", "encoding"),
    [
        ("utf-8", BOOK.encode("utf-8"), "utf-8"),
        ("utf-8 with BOM", codecs.BOM_UTF8 + BOOK.encode("utf-8"), "utf-8"),
        ("gbk", BOOK.encode("gbk"), "gb18030"),
        ("gb18030", BOOK.encode("gb18030"), "gb18030"),
        ("utf-16 with BOM", BOOK.encode("utf-16"), "utf-16-le"),
        ("utf-16-le without BOM", BOOK.encode("utf-16-le"), "utf-16-le"),
        ("utf-16-be without BOM", BOOK.encode("utf-16-be"), "utf-16-be"),
        ("utf-16, CRLF, tab-separated", TABBED.encode("utf-16"), "utf-16-le"),
    ],
)  # fmt: skip
def test_each_encoding_is_found_out(tmp_path: Path, label: str, data: bytes, encoding: str) -> None:
    found = read_file(written(tmp_path, data))
    rows = list(found)
    assert [row.name for row in rows] == NAMES, label
    assert rows[0].keys == (("phone", "138 0013 8000"),)
    assert rows[1].attributes == {"city": "北京"}
    assert [row.row for row in rows] == [2, 3]
    assert found.encoding == encoding and found.issues == []


def test_a_gbk_book_whose_first_rows_are_ascii_is_still_read_as_gbk(tmp_path: Path) -> None:
    # The decision waits for the first non-ASCII line, so thousands of Latin names first
    # do not make it guess UTF-8.
    latin = "".join(f"Acme Trading {n},1390000{n:04d},C,Shanghai\n" for n in range(3000))
    path = written(
        tmp_path, (BOOK.splitlines(keepends=True)[0] + latin + BOOK.split("\n", 1)[1]).encode("gbk")
    )
    found = read_file(path)
    assert names(found)[-2:] == NAMES
    assert found.encoding == "gb18030" and found.issues == []


def test_encoding_can_be_forced(tmp_path: Path) -> None:
    # Big5 is not found out (nor meant to be), but can be named.
    data = "name,phone\n臺灣國際貿易股份有限公司,13800138000\n".encode("big5")
    assert names(read_file(written(tmp_path, data), encoding="big5")) == [
        "臺灣國際貿易股份有限公司"
    ]
    with pytest.raises(ConfigError, match="unknown text encoding 'klingon'"):
        read_file(written(tmp_path, data), encoding="klingon")


def test_a_line_that_does_not_decode_is_one_invalid_row(tmp_path: Path) -> None:
    data = (
        b"name,phone\n"
        + "华强科技,13800138000\n".encode()
        + "某某贸易,13900139000\n".encode("gbk")  # one row pasted from a GBK file
        + b"Broken \xff\xfe Co,13700137000\n"
        + "恒达物流,13600136000\n".encode()
    )
    found = read_file(written(tmp_path, data))
    assert names(found) == ["华强科技", "恒达物流"]
    assert found.encoding == "utf-8"
    assert [(issue.row, issue.outcome) for issue in found.issues] == [
        (3, Outcome.INVALID),
        (4, Outcome.INVALID),
    ]
    assert found.issues[0].message == "the line cannot be decoded as utf-8"


def test_an_undecodable_utf16_line_is_one_invalid_row(tmp_path: Path) -> None:
    good = "name,phone\n华强科技,13800138000\n".encode("utf-16-le")
    bad = (
        "Broken,1".encode("utf-16-le") + b"\x00\xdc" + "\n".encode("utf-16-le")
    )  # a lone low surrogate
    tail = "恒达物流,13600136000\n".encode("utf-16-le")
    found = read_file(written(tmp_path, codecs.BOM_UTF16_LE + good + bad + tail))
    assert names(found) == ["华强科技", "恒达物流"]
    assert [issue.row for issue in found.issues] == [3]


def test_a_row_with_more_cells_than_the_header_is_refused_not_shifted(tmp_path: Path) -> None:
    data = "name,phone,grade\nAcme,13800138000,B\nBeta, Inc,13900139000,C\nGamma,13700137000,C,,\n"
    found = read_file(written(tmp_path, data.encode()))
    assert names(found) == ["Acme", "Gamma"]  # trailing empty cells are harmless
    (issue,) = found.issues
    assert (issue.row, issue.outcome) == (3, Outcome.INVALID)
    assert issue.message == "4 cells, the header has 3 columns (first extra cell: 'C')"


def test_an_unterminated_quote_costs_its_own_row_only(tmp_path: Path) -> None:
    data = (
        "name,phone,address\n"
        'Acme,13800138000,"Room 1\nBuilding 2"\n'  # a legitimate line break in a cell
        '"Beta,13900139000,Nanjing Road\n'  # the quote never closes
        'Gamma,13700137000,"Huaihai Road, 5"\n'
        "Delta,13600136000,Xizang Road\n"
    )
    found = read_file(written(tmp_path, data.encode()))
    rows = list(found)
    assert [(row.row, row.name) for row in rows] == [(2, "Acme"), (5, "Gamma"), (6, "Delta")]
    assert rows[0].attributes == {"address": "Room 1\nBuilding 2"}
    assert rows[1].attributes == {"address": "Huaihai Road, 5"}
    (issue,) = found.issues
    assert issue.row == 4 and "unterminated quote" in issue.message


def test_a_stray_quote_that_pairs_with_a_later_one_is_not_glued_into_one_row(
    tmp_path: Path,
) -> None:
    data = 'name,phone\n"Acme,13800138000\nBeta,13900139000\nGamma",1,2\nDelta,13600136000\n'
    found = read_file(written(tmp_path, data.encode()))
    assert names(found) == ["Beta", "Delta"]
    assert [issue.row for issue in found.issues] == [2, 4]


def test_text_after_a_closing_quote_is_malformed(tmp_path: Path) -> None:
    found = read_file(written(tmp_path, b'name,phone\n"Acme" Co,13800138000\nBeta,1\n'))
    assert names(found) == ["Beta"]
    (issue,) = found.issues
    assert issue.row == 2 and "malformed quoting" in issue.message


def test_a_long_quote_is_cut_at_max_record_lines(tmp_path: Path) -> None:
    body = "".join(f"Row {n},1390000{n:04d}\n" for n in range(MAX_RECORD_LINES * 2))
    found = read_file(written(tmp_path, ('name,phone\n"Open,1\n' + body).encode()))
    assert len(list(found)) == MAX_RECORD_LINES * 2
    assert [issue.row for issue in found.issues] == [2]


def test_a_repeated_id_is_a_duplicate_of_its_first_row(tmp_path: Path) -> None:
    data = "id,name\nx1,Acme\nx2,Beta\nx1,Acme again\n"
    found = read_file(written(tmp_path, data.encode()))
    assert [(row.customer_id, row.row) for row in found] == [("x1", 2), ("x2", 3)]
    assert found.issues == [
        RowResult(4, Outcome.DUPLICATE, message="id 'x1' duplicates row 2", duplicate_of_row=2)
    ]


def test_a_repeated_external_id_is_a_duplicate_of_its_first_row(tmp_path: Path) -> None:
    data = "external_id,name\nx1,Acme\nx2,Beta\nx1,Acme again\n"
    found = read_file(written(tmp_path, data.encode()))
    assert [(row.external_id, row.customer_id, row.row) for row in found] == [
        ("x1", None, 2),
        ("x2", None, 3),
    ]
    assert found.issues == [
        RowResult(
            4, Outcome.DUPLICATE, message="external id 'x1' duplicates row 2", duplicate_of_row=2
        )
    ]


def test_id_and_external_id_are_two_columns(tmp_path: Path) -> None:
    (row,) = read_file(written(tmp_path, b"ID,Name,External_ID,city\nc1,Acme,crm-77,Hefei\n"))
    assert (row.customer_id, row.external_id, row.name, row.attributes) == (
        "c1",
        "crm-77",
        "Acme",
        {"city": "Hefei"},
    )


def test_files_that_are_no_customer_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_file(tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match="empty"):
        read_file(written(tmp_path, b""))
    with pytest.raises(ConfigError, match="'name' column"):
        read_file(written(tmp_path, b"id,phone\nx1,13800138000\n"))
    with pytest.raises(ConfigError, match="cannot read the workbook"):
        read_file(written(tmp_path, b"not a zip", "book.xlsx"))


def test_an_xlsx_sheet_is_read_with_excel_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    write_xlsx(
        path,
        [
            ["Name", "phone", "grade", "since"],
            ["深圳市华强科技有限公司", 13800138000, "B", None],  # a phone typed as a number
            [],
            ["Acme & Sons <Ltd>", "139 0013 9000", None, 2021.5],
            ["Overflow", 1, "C", None, "stray"],
        ],
        first_row=3,  # a title left above the table
    )
    found = read_file(path)
    rows = list(found)
    assert [(row.row, row.name) for row in rows] == [
        (4, "深圳市华强科技有限公司"),
        (6, "Acme & Sons <Ltd>"),
    ]
    assert rows[0].keys == (("phone", "13800138000"),)
    assert rows[1].attributes == {"since": "2021.5"}
    (issue,) = found.issues
    assert issue.row == 7 and "5 cells, the header has 4 columns" in issue.message
    assert found.encoding is None


def test_rows_are_read_lazily_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("name,phone\n")
        for n in range(40_000):
            out.write(f"Company {n} 贸易有限公司,139{n:08d}\n")
    found = read_file(path)
    tracemalloc.start()
    try:
        count = 0
        for _ in found:
            count += 1
            if count == 20_000:
                assert 0.3 < (found.fraction_read or 0) < 0.7
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 40_000 and found.fraction_read == 1.0
    assert peak < 1_000_000  # far below the 1.4 MB file read as 40,000 rows


def test_a_read_file_goes_straight_into_the_service(tmp_path: Path) -> None:
    data = (
        'id,name,phone\nc1,Acme,13800138000\n"c2,Beta\nc2,Beta,13900139000\nc1,Acme,13700137000\n'
    )
    service = PoolService(
        MemoryStore(),
        Policy.from_dict({"timezone": "Asia/Shanghai"}),
        ManualClock(datetime(2026, 3, 2, 1, tzinfo=UTC)),
    )
    service.setup(Team.from_dict({"reps": [{"id": "admin", "admin": True}],
                                  "pools": [{"id": "east", "default": True}]}))  # fmt: skip
    found = read_file(written(tmp_path, data.encode()))
    report = found.report(service.import_customers("admin", found))
    assert [(result.row, result.outcome) for result in report.rows] == [
        (2, Outcome.CREATED),
        (3, Outcome.INVALID),
        (4, Outcome.CREATED),
        (5, Outcome.DUPLICATE),
    ]
    assert report.summary() == "4 rows: 2 created, 0 collision, 1 duplicate, 1 invalid"
    assert report.lookalikes() == 0


def test_read_csv_keeps_its_list_and_refuses_a_damaged_file(tmp_path: Path) -> None:
    assert [row.name for row in read_csv(written(tmp_path, BOOK.encode("gbk")))] == NAMES
    with pytest.raises(ConfigError, match="line 3: 3 cells"):
        read_csv(written(tmp_path, b"name,phone\nAcme,1\nBeta,2,3\n"))


def test_every_column_named_for_a_key_is_one(tmp_path: Path) -> None:
    (row,) = read_file(
        written(tmp_path, b"name,Phone,email,phone\nAcme,138 0013 8000,a@b.cn,13900139000\n")
    )
    assert row.keys == (("phone", "138 0013 8000"), ("email", "a@b.cn"), ("phone", "13900139000"))
    assert row.attributes == {}
