"""The benchmarks still run, at a tiny size: they print figures and assert nothing about
time, so all a test can check is that they finish and print every figure they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("script", "args", "lines"),
    [
        (
            "bench_sweep.py",
            ("--stored", "600", "1200", "--due", "100", "--claims", "20"),
            [
                "stored   sweep s   floor s",
                "sweep cost at 1,200 stored vs 600",
                "claim cost vs",
                "taken turn about",
            ],
        ),
        (
            "bench_identity.py",
            ("--stored", "600", "1200", "--lookups", "20", "--rows", "50"),
            ["with_keys, held", "similar_names", "import_customers, per row", "ratio: cost at"],
        ),
        (
            "bench_import.py",
            (
                *("--rows", "120", "--stored", "300", "--profile-rows", "30", "--top", "5"),
                *("--batch-size", "50"),
            ),
            [
                "rows on SQLite (WAL), in batches of 50",
                "read csv",
                "read xlsx",
                "import_customers",
                "floor",
                "ratio: import time",
                "profile of the import",
            ],
        ),
        (
            "bench_report.py",
            ("--customers", "300", "--events", "1200", "--reps", "5"),
            [
                "built 300 customers",
                "poolkit report",
                "of which the forecast",
                "raw SQL counts",
                "raw SQL due rows",
                "ratio: report without forecast vs raw counts",
                "ratio: forecast vs raw select",
            ],
        ),
        (
            "bench_what_if.py",
            ("--stored", "600", "1200", "--owned", "300", "--reps", "10", "--items"),
            ["stored    owned    raw s", "RSS MiB", "what-if cost at 1,200 stored vs 600"],
        ),
        (
            "bench_feed.py",
            ("--events", "1200", "--pages", "100", "--writes", "30", "--dsn", ""),
            [
                "SQLite     page   100  floor ",
                "SQLite     page   100  poolkit",
                "ratio: poolkit / floor",
                "ratio: append time with positions / before",
                "PostgreSQL: not run",
            ],
        ),
        (
            "bench_bulk.py",
            ("--claims", "20", "--stored", "200", "--cap", "50"),
            [
                "single claims, one by one",
                "bulk_claim, per customer",
                "bulk_claim, all or nothing",
                "floor (hand-written SQL)",
                "ratio: single claims / bulk per customer",
            ],
        ),
        (
            "bench_pages.py",
            ("--stored", "300", "--reads", "3"),
            ["a page of 50 of 300", "entered   at 90%", "name      first", "raw count(*)"],
        ),
        (
            "bench_assignment.py",
            ("--members", "3", "--held", "5", "10", "--creates", "10"),
            ["held   plain ms", "ratio: assignment cost"],
        ),
        (
            "bench_codec.py",
            ("--values", "40", "--repeat", "1", "--profile", "3"),
            [
                "customers, json            read",
                "customers, json            write",
                "events, json               read",
                "events, json               write",
                "profile of reading and writing",
            ],
        ),
        (
            "bench_review.py",
            ("--numbered", "200", "--random", "400", "--examples", "2", "--large", "1000"),
            [
                "last 1,000 of 1,000 every key",
                "last 1,000 of 1,000 after",
                "numbered   before",
                "numbered   every key",
                "numbered   after",
                "random     before",
                "random     every key",
                "random     after",
            ],
        ),
    ],
)
def test_a_benchmark_runs_at_a_tiny_size(
    script: str, args: tuple[str, ...], lines: list[str]
) -> None:
    out = run(script, *args)
    for line in lines:
        assert line in out, out
