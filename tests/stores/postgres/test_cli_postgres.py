"""The command line on a PostgreSQL database: ``--db`` (or ``POOLKIT_DB``) takes a
``postgresql://`` URL, and every command works there as on a file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from _pg import url_of

from poolkit.cli import main

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "cli"
MONDAY = "2026-03-02T09:00:00+08:00"
NEXT_MONDAY = "2026-03-09T09:00:00+08:00"


def run(url: str, *argv: str, now: str = MONDAY) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", url, "--now", now, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_every_step_of_a_day_runs_on_a_postgresql_url(pg_dsn: str) -> None:
    url = url_of(pg_dsn, schema="cli_day")
    policy, team = str(EXAMPLES / "policy.toml"), str(EXAMPLES / "team.toml")
    assert run(url, "init", "--policy", policy, "--team", team)[0] == 0
    # A second init finds the schema initialised, as it finds a file that exists.
    code, _, err = run(url, "init", "--policy", policy, "--team", team)
    assert code == 2 and "already exists" in err
    code, out, err = run(
        url,
        "--json",
        "create",
        "Acme",
        "--phone",
        "138 0013 8000",
        "--grade",
        "C",
        "--as",
        "sun",
        "--public",
    )
    assert code == 0, err
    customer = json.loads(out)["id"]
    assert run(url, "claim", customer, "--as", "sun")[0] == 0
    code, out, _ = run(url, "--json", "list", "--owner", "sun")
    assert [row["id"] for row in json.loads(out)] == [customer]
    code, out, err = run(url, "--json", "sweep", now=NEXT_MONDAY)
    assert code == 0, err
    assert [item["customer_id"] for item in json.loads(out)["dropped"]] == [customer]


def test_a_password_is_never_printed(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POOLKIT_DB", "postgresql://app:s3cret@127.0.0.1:1/crm?connect_timeout=1")
    out, err = io.StringIO(), io.StringIO()
    code = main(["list"], out=out, err=err)
    assert code != 0
    assert "s3cret" not in err.getvalue() + out.getvalue()
    assert err.getvalue()[-1] == "\n" and err.getvalue().count("\n") == 1  # one line
