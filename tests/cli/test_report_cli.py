"""``poolkit report``: the page it writes, its ``--json``, its refusals, and its what-if
section (``--what-if FILE``)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from poolkit.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cli"
MONDAY = "2026-03-02T09:00:00+08:00"
WEDNESDAY = "2026-03-04T09:00:00+08:00"
TEN_DAYS = str(EXAMPLES / "policy-10-days.toml")


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
        ["report", "--out", str(tmp_path / "x.html"), "--what-if-days", "3"],
        ["report", "--out", str(tmp_path / "x.html"), "--what-if-limit", "3"],
        ["report", "--out", str(tmp_path / "x.html"), "--what-if", str(tmp_path / "no.toml")],
        ["report", "--out", str(tmp_path / "x.html"), "--what-if", TEN_DAYS, "--at", MONDAY],
        [
            "report",
            "--out",
            str(tmp_path / "x.html"),
            "--what-if",
            TEN_DAYS,
            "--what-if-days",
            "-1",
        ],
        [
            "report",
            "--out",
            str(tmp_path / "x.html"),
            "--what-if",
            TEN_DAYS,
            "--what-if-days",
            "9999999",
        ],
    ):
        code, out, err = run(db, *argv)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, (argv, err)
    assert not (tmp_path / "x.html").exists()


def stricter(tmp_path: Path) -> Path:
    """The examples' policy with grades C and D dropped after 3 days, not 7, and a cap of 0."""
    text = (EXAMPLES / "policy.toml").read_text(encoding="utf-8")
    changed = text.replace("days = 7\nwarn_days = 2", "days = 3\nwarn_days = 1").replace(
        "default = 3 ", "default = 0 "
    )
    assert changed.count("\ndays = 3\n") == 1 and "default = 0" in changed
    path = tmp_path / "strict <policy>.toml"
    path.write_text(changed, encoding="utf-8")
    return path


def test_report_with_what_if_adds_the_section(tmp_path: Path) -> None:
    db, page, candidate = book(tmp_path), tmp_path / "pools.html", stricter(tmp_path)
    before = run(db, "--json", "policy")[1]
    argv = ["report", "--out", str(page), "--days-back", "3", "--what-if", str(candidate)]
    code, out, err = run(db, *argv, "--what-if-days", "14", now=WEDNESDAY)
    assert (code, err) == (0, "")
    assert out == (
        f"wrote {page}: 2 customers in 2 pools, 0 open reviews, as of 2026-03-04 09:00 +08:00; "
        f"what-if {candidate}: 1 customer changed (1 earlier, 0 later), 1 drop (now 1) by "
        "2026-03-18 09:00 +08:00\n"
    )
    html = page.read_text(encoding="utf-8")
    assert html.count('<g class="bar"') == 2 + 3 + 21 + 2 * 5 + 1 + 1  # li over cap, east
    assert "What if: " + str(candidate).replace("<", "&lt;").replace(">", "&gt;") in html
    assert 'id="what-if-caps"' in html and 'id="what-if-claims"' not in html
    assert '<th scope="row">c1</th><td>Li (li)</td><td>east</td>' in html
    assert "earlier by 4 d" in html
    assert run(db, "--json", "policy")[1] == before  # asking changed nothing


def test_report_with_what_if_as_json_gives_it_too(tmp_path: Path) -> None:
    db, page = book(tmp_path), tmp_path / "pools.html"
    argv = ["--json", "report", "--out", str(page), "--what-if", TEN_DAYS]
    code, out, _ = run(db, *argv, "--what-if-limit", "0", now=WEDNESDAY)
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"out", "report", "what_if"}
    outlook = data["what_if"]
    assert (outlook["changed"], outlook["later"], outlook["items"], outlook["more"]) == (
        1, 1, [], 1,
    )  # fmt: skip
    assert outlook["until"] == "2026-03-11T09:00:00+08:00"  # 7 days by default
    li = next(rep for rep in outlook["reps"] if rep["rep_id"] == "li")
    assert (li["cap"], li["new_cap"], li["over_cap"]) == (3, 15, 0)
    assert "And 1 more changed customers, not listed." in page.read_text(encoding="utf-8")
