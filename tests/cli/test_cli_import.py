"""``poolkit import`` on the files a company really has: GBK, UTF-16 and ``.xlsx`` files, a
damaged row, a dry run, progress on stderr, and an interrupted import resumed by external
id (issue 12). The files are small and made here."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from poolkit.cli import _progress, importing, main
from poolkit.cli._progress import Progress
from poolkit.testing.files import write_xlsx

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cli"
MONDAY = "2026-03-02T09:00:00+08:00"


def poolkit(db: Path, *argv: str | Path, err: io.StringIO | None = None) -> tuple[int, str, str]:
    out, errors = io.StringIO(), err if err is not None else io.StringIO()
    args = ["--db", str(db), "--now", MONDAY, *(str(part) for part in argv)]
    code = main(args, out=out, err=errors)
    return code, out.getvalue(), errors.getvalue()


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POOLKIT_DB", raising=False)
    monkeypatch.delenv("POOLKIT_NOW", raising=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "crm.db"
    code, _, err = poolkit(
        path, "init", "--policy", EXAMPLES / "policy.toml", "--team", EXAMPLES / "team.toml"
    )
    assert (code, err) == (0, "")
    return path


def stored(db: Path) -> list[dict[str, Any]]:
    code, out, _ = poolkit(db, "--json", "list")
    assert code == 0
    customers: list[dict[str, Any]] = json.loads(out)
    return customers


def external_ids(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT external_id FROM customer_external_ids ORDER BY 1")
        return [external_id for (external_id,) in rows]


def test_a_gbk_file_with_a_damaged_row_imports_the_rest(db: Path, tmp_path: Path) -> None:
    book = tmp_path / "客户.csv"
    good = "external_id,name,phone,region\nk1,深圳市华强科技有限公司,13800138201,east\n"
    damaged = "k2,北京某某贸易有限公司,13800138202,east\n".encode("gbk")[:-8] + b"\xff\xfe\n"
    rest = "k3,上海恒达物流有限公司,13800138203,east,extra\n,杭州星海电子有限公司\n"
    book.write_bytes(good.encode("gbk") + damaged + rest.encode("gbk"))
    code, out, err = poolkit(db, "import", book, "--as", "admin")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "row 3: invalid: the line cannot be decoded as gb18030",
        "row 4: invalid: 5 cells, the header has 4 columns (first extra cell: 'extra')",
        "4 rows: 2 created, 0 collision, 0 duplicate, 2 invalid",
    ]
    assert sorted(c["name"] for c in stored(db)) == [
        "杭州星海电子有限公司",
        "深圳市华强科技有限公司",
    ]
    assert external_ids(db) == ["k1"]


def test_encoding_can_be_named(db: Path, tmp_path: Path) -> None:
    book = tmp_path / "big5.csv"
    book.write_bytes("name\n台灣貿易有限公司\n".encode("big5"))
    code, out, _ = poolkit(db, "import", book, "--as", "admin", "--encoding", "big5")
    assert code == 0 and out.splitlines()[-1].startswith("1 rows: 1 created")
    assert [c["name"] for c in stored(db)] == ["台灣貿易有限公司"]
    code, _, err = poolkit(db, "import", book, "--as", "admin", "--encoding", "no-such")
    assert code == 2 and "encoding" in err


def test_utf16_and_xlsx_files(db: Path, tmp_path: Path) -> None:
    unicode_text = tmp_path / "unicode.txt"
    unicode_text.write_bytes("name\tphone\nAcme Tools\t13800138301\n".encode("utf-16"))
    assert poolkit(db, "import", unicode_text, "--as", "admin")[0] == 0
    book = tmp_path / "book.xlsx"
    write_xlsx(
        book,
        [["Name", "phone", "External_ID"], ["Beta Works", 13800138302, "x-1"], ["", "", "x-2"]],
        sheet="Export",
    )
    code, out, _ = poolkit(db, "import", book, "--as", "admin", "--sheet", "Export")
    assert code == 0
    assert out.splitlines() == [
        "row 3: invalid: name: must be a non-empty trimmed string, got ''",
        "2 rows: 1 created, 0 collision, 0 duplicate, 1 invalid",
    ]
    assert sorted(c["name"] for c in stored(db)) == ["Acme Tools", "Beta Works"]
    assert external_ids(db) == ["x-1"]


def test_a_dry_run_reports_and_stores_nothing(db: Path, tmp_path: Path) -> None:
    book = tmp_path / "book.csv"
    book.write_text(
        "external_id,name,phone\n"
        "a1,Acme Tools,13800138401\n"
        "a2,Acme Tools Two,13800138401\n"  # the phone of row 2
        "a1,Acme again,13800138403\n"
        "a4,Delta,12345\n",
        encoding="utf-8",
    )
    before = db.read_bytes()
    code, out, _ = poolkit(db, "import", book, "--as", "admin", "--dry-run")
    assert code == 0
    assert out.splitlines() == [
        "row 3: duplicate: phone:+8613800138401 duplicates row 2",
        "row 4: duplicate: external id 'a1' duplicates row 2",
        "row 5: invalid: phone: '12345' is not a valid phone: "
        "not a valid number (wrong length or unallocated prefix)",
        "4 rows: 1 created, 0 collision, 2 duplicate, 1 invalid",
        "dry run: nothing was stored",
    ]
    assert stored(db) == [] and external_ids(db) == []
    assert db.read_bytes() == before
    # The same import for real says the same.
    code, real, _ = poolkit(db, "import", book, "--as", "admin")
    assert real.splitlines() == out.splitlines()[:-1]


def test_a_second_run_skips_the_rows_already_imported(db: Path, tmp_path: Path) -> None:
    book = tmp_path / "book.csv"
    book.write_text("external_id,name\nz1,Zeta One\nz2,Zeta Two\n", encoding="utf-8")
    assert poolkit(db, "import", book, "--as", "admin")[0] == 0
    first = {c["name"]: c["id"] for c in stored(db)}
    out = poolkit(db, "--json", "import", book, "--as", "admin")[1]
    report = json.loads(out)
    assert [row["outcome"] for row in report["rows"]] == ["already imported"] * 2
    assert report["rows"][0]["customer_id"] == first["Zeta One"]
    assert report["counts"]["already_imported"] == 2 and report["counts"]["created"] == 0
    out = poolkit(db, "import", book, "--as", "admin", "--verbose")[1]
    assert out.splitlines() == [
        f"row 2: already imported as {first['Zeta One']}",
        f"row 3: already imported as {first['Zeta Two']}",
        "2 rows: 0 created, 0 collision, 0 duplicate, 0 invalid, 2 already imported",
    ]
    assert len(stored(db)) == 2


def test_the_summary_counts_the_lookalikes_filed(db: Path, tmp_path: Path) -> None:
    book = tmp_path / "book.csv"
    book.write_text(
        "name\n深圳市腾讯计算机系统有限公司\n深圳市腾迅计算机系统有限公司\n", encoding="utf-8"
    )
    out = poolkit(db, "import", book, "--as", "admin")[1]
    assert out.splitlines()[-1] == (
        "2 rows: 2 created, 0 collision, 0 duplicate, 0 invalid, 1 look-alike filed for review"
    )
    assert poolkit(db, "reviews")[1].splitlines()[-1] == "(1 review item)"
    out = poolkit(db, "--json", "import", book, "--as", "admin")[1]
    counts = json.loads(out)["counts"]
    # The first copy looks like the two stored; the second like those and the first copy.
    assert (counts["created"], counts["lookalikes_filed"]) == (2, 2 + 3)


def test_a_long_import_shows_progress_in_a_log(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = tmp_path / "book.csv"
    book.write_text("name\n" + "".join(f"Firm {n} Ltd\n" for n in range(2400)), "utf-8")
    # "Long" from the first batch on, and a line at every batch.
    monkeypatch.setattr(_progress, "QUIET_SECONDS", 0.0)
    monkeypatch.setattr(_progress, "LOG_EVERY", 0.0)
    code, out, err = poolkit(db, "import", book, "--as", "admin")
    assert code == 0 and out.splitlines()[-1].startswith("2400 rows: 2400 created")
    lines = err.splitlines()
    # stderr is no terminal here: whole lines, no carriage returns.
    assert "\r" not in err and len(lines) == 4
    assert lines[0].startswith("imported 1,000 rows in ") and "rows/s" in lines[0]
    assert "% of the file, about " in lines[0] and lines[0].endswith(" left")
    assert lines[-1].startswith("imported 2,400 rows in ")
    code, out, err = poolkit(db, "import", book, "--as", "admin", "--quiet")
    assert code == 0 and err == ""


def test_progress_on_a_terminal_is_one_line_rewritten() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    now = [0.0]
    stream = Terminal()
    progress = Progress(stream, fraction=lambda: 0.25, clock=lambda: now[0])
    progress.update(100)  # within the quiet seconds: nothing
    assert stream.getvalue() == "" and not progress.shown
    now[0] = 10.0
    progress.update(2_500)
    now[0] = 10.1  # sooner than TERMINAL_EVERY: not redrawn
    progress.update(2_600)
    now[0] = 40.0
    progress.update(10_000)
    progress.finish()
    shown = stream.getvalue()
    assert shown.count("\r") == 3 and shown.endswith("\n")
    assert shown.split("\r")[1].rstrip() == (
        "imported 2,500 rows in 10 s, 250 rows/s, 25% of the file, about 30 s left"
    )
    assert shown.split("\r")[3].rstrip() == "imported 10,000 rows in 40 s, 250 rows/s"


def test_progress_says_nothing_for_a_short_run() -> None:
    stream = io.StringIO()
    progress = Progress(stream, clock=lambda: 1.0)
    progress.update(7)
    progress.finish()
    assert stream.getvalue() == ""


def test_the_batch_size_sets_how_many_rows_are_committed_together(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = tmp_path / "book.csv"
    book.write_text("name\n" + "".join(f"Firm {n} Ltd\n" for n in range(50)), "utf-8")
    monkeypatch.setattr(_progress, "QUIET_SECONDS", 0.0)
    monkeypatch.setattr(_progress, "LOG_EVERY", 0.0)
    code, out, err = poolkit(db, "import", book, "--as", "admin", "--batch-size", "20")
    assert code == 0 and out.splitlines()[-1].startswith("50 rows: 50 created")
    # A progress line at each commit (after 20, 40 and 50 rows), then the last one.
    assert [line.split(" rows in ")[0] for line in err.splitlines()] == [
        "imported 20",
        "imported 40",
        "imported 50",
        "imported 50",
    ]
    before = stored(db)
    for bad in ("0", "-5"):
        code, _, err = poolkit(db, "import", book, "--as", "admin", "--batch-size", bad)
        assert code != 0 and "batch_size" in err and "must be > 0" in err
    assert stored(db) == before


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["crash", "ctrl-c"])
def test_an_interrupted_import_is_resumed_and_every_row_is_in_once(
    db: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    total = 4_000
    book = tmp_path / "book.csv"
    book.write_text(
        "external_id,name,phone\n"
        + "".join(f"crm-{n},Firm {n} Trading,1380{n:07d}\n" for n in range(total)),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("POOLKIT_DB", None)
    command = [sys.executable, "-m", "poolkit", "--db", str(db), "--now", MONDAY]
    command += ["import", str(book), "--as", "admin", "--quiet"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # Stopped once at least one batch is in for good, long before the last.
    deadline = time.monotonic() + 120
    while _count(db) < 500 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(stop)
    _, err = process.communicate(timeout=120)
    first = _count(db)
    assert 0 < first < total, "the import ended before it could be interrupted"
    if stop is signal.SIGINT:
        # Ctrl-C lets the batch under way be committed: the count said is exact.
        assert process.returncode == 130
        assert f"interrupted: {first} rows handled and committed" in err
        assert "the import stopped between two batches" in err
    code, out, _ = poolkit(db, "import", book, "--as", "admin", "--quiet")
    assert code == 0
    assert out.splitlines()[-1] == (
        f"{total} rows: {total - first} created, 0 collision, 0 duplicate, 0 invalid, "
        f"{first} already imported"
    )
    assert external_ids(db) == sorted(f"crm-{n}" for n in range(total))
    assert _count(db) == total


def test_a_first_ctrl_c_waits_for_the_batch_and_a_second_stops_at_once() -> None:
    err = io.StringIO()
    before = signal.getsignal(signal.SIGINT)
    stop = importing._StopRequest(err)
    try:
        signal.raise_signal(signal.SIGINT)  # the first: asked, not raised
        assert stop.requested and not stop.at_once
        assert "stopping once the batch under way is committed" in err.getvalue()
        rows = iter(importing._Reading(_Rows(), stop))  # type: ignore[arg-type]
        with pytest.raises(KeyboardInterrupt):
            next(rows)  # the import's next batch asks for its rows: it stops there
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # the second: at once
        assert stop.at_once
    finally:
        stop.close()
    assert signal.getsignal(signal.SIGINT) is before


class _Rows:
    """A file's rows, for ``_Reading``: one, which must not be handed out."""

    def __iter__(self) -> Any:
        yield "the next batch's first row"


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            found: int = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
            return found
    except sqlite3.OperationalError:  # the writer holds the file for a moment
        return 0
