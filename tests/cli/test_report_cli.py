"""``poolkit report``: the page it writes, its ``--json``, its refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path

from poolkit.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cli"
MONDAY = "2026-03-02T09:00:00+08:00"
WEDNESDAY = "2026-03-04T09:00:00+08:00"


def run(db: Path, *argv: str, now: str = MONDAY) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", str(db), "--now", now, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def book(tmp_path: Path) -> Path:
    db = tmp_path / "crm.db"
    policy, team = str(EXAMPLES / "policy.toml"), str(EXAMPLES / "team.toml")
    assert run(db, "init", "--policy", policy, "--team", team)[0] == 0
    assert (
        run(db, "create", "<b>Bold</b> & Sons", "--id", "c1", "--grade", "C", "--as", "li")[0] == 0
    )
    assert run(db, "create", "Quiet Ltd", "--id", "c2", "--public", "--as", "zhao")[0] == 0
    return db


def test_report_writes_the_page(tmp_path: Path) -> None:
    db, page = book(tmp_path), tmp_path / "pools.html"
    code, out, err = run(db, "report", "--out", str(page), "--days-back", "3", now=WEDNESDAY)
    assert (code, err) == (0, "")
    assert out == (
        f"wrote {page}: 2 customers in 2 pools, 0 open reviews, as of 2026-03-04 09:00 +08:00\n"
    )
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<g class="bar"') == 2 + 3 + 21 + 2 * 5  # grades, days, days, reps
    assert "2026-03-02</th><td>2</td><td>0</td><td>2</td>" in html  # two created on Monday


def test_report_as_json_gives_the_figures(tmp_path: Path) -> None:
    db, page = book(tmp_path), tmp_path / "pools.html"
    argv = ["--json", "report", "--out", str(page), "--days-back", "1", "--days-ahead", "10"]
    code, out, _ = run(db, *argv, "--at", "2026-03-03T09:00:00+08:00", now=WEDNESDAY)
    assert code == 0
    data = json.loads(out)
    assert data["out"] == str(page)
    figures = data["report"]
    assert figures["at"] == "2026-03-03T09:00:00+08:00"
    assert [f["day"] for f in figures["flows"]] == ["2026-03-03"]
    assert len(figures["forecast"]) == 10
    li = next(rep for rep in figures["reps"] if rep["rep_id"] == "li")
    assert (li["owned"], li["cap"]) == (1, 3)


def test_report_refuses_bad_arguments_with_one_line(tmp_path: Path) -> None:
    db = book(tmp_path)
    for argv in (
        ["report"],
        ["report", "--out", str(tmp_path / "x.html"), "--days-back", "0"],
        ["report", "--out", str(tmp_path / "x.html"), "--days-ahead", "99999"],
        ["report", "--out", str(tmp_path / "x.html"), "--at", "2026-03-03T09:00"],
        ["report", "--out", str(tmp_path / "missing" / "x.html")],
    ):
        code, out, err = run(db, *argv)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, (argv, err)
    assert not (tmp_path / "x.html").exists()
