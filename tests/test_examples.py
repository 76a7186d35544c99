"""The example scripts run, say what they should, and the simulation is repeatable.

Each script runs as a reader would run it: a fresh ``python`` process (``sys.executable``),
from a directory other than the repository (the scripts find their TOML files themselves).
About 3 s in all, most of it interpreter start-up.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
# The smallest arguments that still exercise a script; a script not named runs bare.
QUICK_ARGS = {"team_month.py": ["--days", "3"]}


def run(
    script: str, *args: str, cwd: Path, hash_seed: str = "0"
) -> subprocess.CompletedProcess[str]:
    # A fixed but different hash seed per run proves the output does not depend on the
    # iteration order of sets of strings.
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.splitlines()


def test_the_examples_are_found() -> None:
    names = {script.name for script in SCRIPTS}
    assert {"quickstart.py", "team_month.py", "custom_policy_check.py"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda script: script.name)
def test_every_example_says_what_it_shows_and_runs(script: Path, tmp_path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert docstring is not None and "Run" in docstring
    assert ok(run(script.name, *QUICK_ARGS.get(script.name, []), cwd=tmp_path))


def test_examples_type_check_as_user_code_would(tmp_path: Path) -> None:
    """A user's code passes a MemoryStore or SqliteStore where a Store is expected; under
    mypy --strict that must type-check, as the examples do."""
    api = pytest.importorskip("mypy.api")
    cache = tmp_path / "mypy_cache"
    stdout, stderr, status = api.run(["--strict", "--cache-dir", str(cache), str(EXAMPLES)])
    assert status == 0, stdout + stderr


def test_quickstart_tells_the_story(tmp_path: Path) -> None:
    lines = ok(run("quickstart.py", cwd=tmp_path))
    text = "\n".join(lines)
    assert lines[0] == "1. li enters Acme Textiles: it is owned by li"
    assert (
        "2. chen enters it again and is refused: phone '+8613800138000' already belongs to "
        "customer 'acme': colleague li is already following this customer"
    ) in lines
    assert "6. sweep one second before the deadline drops 0" in lines
    assert (
        "7. sweep at the deadline: acme dropped: no follow-up for 15 days since "
        "2026-03-04 09:00 +08:00, rule 'stale-15'"
    ) in lines
    assert "may claim it again from 2026-03-26T09:00:00+08:00" in text
    assert "9. chen claims it: acme is owned by chen" in lines
    assert lines[-1] == "    03-19 09:00 claimed by chen from pool east"


def day_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("Day ")]


def test_team_month_plays_a_month(tmp_path: Path) -> None:
    lines = ok(run("team_month.py", cwd=tmp_path))
    text = "\n".join(lines)
    assert lines[0] == "Set up: 60 customers entered, 47 in pool east, 13 in pool vip"
    days = day_lines(lines)
    assert len(days) == 30
    assert days[0].startswith("Day  1 Mon 2026-03-02: ")
    assert days[-1].startswith("Day 30 Tue 2026-03-31: ")
    # Every kind of move and refusal the example is there to show, with its reason.
    for expected in (
        "refused  (li) CapExceeded: rep 'li' holds 6 of a cap of 6",
        "ClaimLimitExceeded: rep 'sun' has made 2 claims in 7 days",
        "ClaimLimitExceeded: rep 'chen' has made 6 claims in 7 days",
        "CooldownActive: rep ",
        "CollisionError: phone ",
        "is already following this customer",
        "PermissionDenied: ",
        "pool 'vip' is assign-only: ask its manager",
        "lost race (",
        "making room under the cap",
        "departed wu: ",
        "rule 'CD-no-follow-up'",
        "rule 'vip-no-follow-up'",
    ):
        assert expected in text, expected
    warned = [line for line in lines if line.startswith("   warned   ")]
    dropped = [line for line in lines if line.startswith("   dropped  ")]
    assert warned and all(" will drop at 2026-" in line for line in warned)
    assert dropped and all(", rule '" in line for line in dropped)
    assert "   wu     departed" in lines
    assert any(line.startswith("The week ahead, if nobody follows up: ") for line in lines)
    assert any(line.startswith("The story of ") for line in lines)


def test_team_month_is_repeatable(tmp_path: Path) -> None:
    first = ok(run("team_month.py", "--seed", "3", "--days", "12", cwd=tmp_path))
    again = ok(run("team_month.py", "--seed", "3", "--days", "12", cwd=tmp_path, hash_seed="1"))
    assert first == again
    assert len(day_lines(first)) == 12
    other = ok(run("team_month.py", "--seed", "4", "--days", "12", cwd=tmp_path))
    assert other != first  # the seed matters, so the comparison above means something


def test_team_month_refuses_bad_arguments(tmp_path: Path) -> None:
    result = run("team_month.py", "--days", "0", cwd=tmp_path)
    assert result.returncode == 2 and "--days must be at least 1" in result.stderr
    taken = tmp_path / "month.sqlite"
    taken.write_bytes(b"")
    result = run("team_month.py", "--db", str(taken), cwd=tmp_path)
    assert result.returncode == 2 and "exists; give the path of a new database file" in (
        result.stderr
    )


@pytest.mark.skipif(
    importlib.util.find_spec("poolkit.stores.sqlite") is None,
    reason="the SQLite store is not in this tree",
)
def test_team_month_in_sqlite_tells_the_same_story(tmp_path: Path) -> None:
    database = tmp_path / "month.sqlite"
    stored = ok(run("team_month.py", "--days", "12", "--db", str(database), cwd=tmp_path))
    assert database.exists()
    assert stored == ok(run("team_month.py", "--days", "12", cwd=tmp_path))


def test_custom_policy_check_explains_a_customer(tmp_path: Path) -> None:
    lines = ok(run("custom_policy_check.py", cwd=tmp_path))
    assert lines[0] == (
        "Policy policy.toml: 6 drop rules, time zone Asia/Shanghai, deadlines exact"
    )
    assert "  CD-no-follow-up: due 2026-03-14 10:30:00 CST" in lines
    assert "  no-first-deal: due 2026-04-01 10:30:00 CST" in lines
    assert "  at 2026-03-14 10:29:59 CST: stay (drop.not_due); a warning is due" in lines
    assert "  at 2026-03-14 10:30:00 CST: DROP (drop.no_follow_up)" in lines
    assert len([line for line in lines if line.startswith("  at ")]) == 3


def test_custom_policy_check_takes_a_grade_a_deal_and_another_policy(tmp_path: Path) -> None:
    lines = ok(run("custom_policy_check.py", "--grade", "A", cwd=tmp_path))
    assert "  none: no drop rule watches this customer" in lines
    lines = ok(run("custom_policy_check.py", "--grade", "B", "--deal", cwd=tmp_path))
    assert "  no-repeat-deal: due 2026-06-05 10:30:00 CST" in lines
    policy = tmp_path / "strict.toml"
    policy.write_text(
        'timezone = "Europe/Berlin"\ndrop_time = "start_of_day"\n'
        '[[drop_rules]]\nname = "week"\nkind = "no_follow_up"\ndays = 7\n'
    )
    lines = ok(run("custom_policy_check.py", "--policy", str(policy), cwd=tmp_path))
    assert lines[0] == (
        "Policy strict.toml: 1 drop rules, time zone Europe/Berlin, deadlines start_of_day"
    )
    assert "  week: due 2026-03-11 00:00:00 CET" in lines
