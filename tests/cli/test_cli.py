"""The ``poolkit`` command line: every command, its output, its ``--json``, its exit codes.

Commands run in-process through :func:`poolkit.cli.main` with their own output streams; one
test runs ``python -m poolkit`` in a real process. Every run passes ``--now``, so nothing
depends on the wall clock. The team, policy and CSV are the ones in ``examples/cli/``, and
the session of ``docs/cli.md`` is replayed at the end, so the page shows what the commands
really print. A few seconds (most of it the demo, the docs session and one real process).
"""

from __future__ import annotations

import glob
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import attrs
import pytest

from poolkit import Policy, PoolService, cli
from poolkit.cli import EXIT_CODES, entry_point, main
from poolkit.stores.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cli"
POLICY = EXAMPLES / "policy.toml"
TEAM = EXAMPLES / "team.toml"
CUSTOMERS = EXAMPLES / "customers.csv"
OTHER_POLICY = EXAMPLES / "policy-10-days.toml"  # grades C and D get 10 days, not 7
DOCS = ROOT / "docs" / "cli.md"
# Every command the old single-module CLI had; the help and the docs list them and more.
COMMANDS = (
    "init", "policy", "import", "create", "claim", "assign", "return", "recycle", "transfer",
    "follow-up", "freeze", "restore", "show", "history", "list", "sweep", "forecast", "demo",
)  # fmt: skip

# Monday morning in Shanghai, and the instants the example policy makes interesting for a
# grade C customer taken then: warned 5 days later, dropped 7 days later, at the same hour.
MONDAY = "2026-03-02T09:00:00+08:00"
SATURDAY = "2026-03-07T09:00:00+08:00"
NEXT_MONDAY = "2026-03-09T09:00:00+08:00"

Unchanged = Callable[[SqliteStore], AbstractContextManager[None]]


@attrs.frozen
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    def json(self) -> Any:
        return json.loads(self.out)


def poolkit(db: Path, *parts: str | Path, now: str = MONDAY, as_json: bool = False) -> Run:
    """Run one command on ``db`` at ``now``. A string part is split like a shell line; a
    Path is one argument, whatever characters it holds."""
    argv = ["--db", str(db), "--now", now, *(["--json"] if as_json else [])]
    for part in parts:
        argv += [str(part)] if isinstance(part, Path) else shlex.split(part)
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return Run(code, out.getvalue(), err.getvalue())


def ok(run: Run) -> Run:
    assert (run.code, run.err) == (0, ""), run
    return run


def refused(run: Run, code: int, *words: str) -> str:
    """The one error line of a refusal, checked: exit code, nothing on stdout, no traceback."""
    assert run.code == code, run
    assert run.out == ""
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A POOLKIT_DB or POOLKIT_NOW of the person running the tests must not leak in."""
    monkeypatch.delenv("POOLKIT_DB", raising=False)
    monkeypatch.delenv("POOLKIT_NOW", raising=False)


def init(path: Path, policy: Path = POLICY) -> Path:
    ok(poolkit(path, "init --policy", policy, "--team", TEAM))
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database set up from the example policy and team, with no customers."""
    return init(tmp_path / "crm.db")


def enter_c001_and_c002(db: Path) -> None:
    """c001 in Li's private pool, c002 waiting in the East pool (the rows of the example
    CSV that collide name them)."""
    ok(poolkit(db, 'create "Ningbo Bright Electronics" --id c001 --grade C', "--as li",
               '--phone "138 0013 8001"'))  # fmt: skip
    ok(poolkit(db, 'create "Wuxi Express Logistics" --id c002 --grade E --public --as zhao',
               "--email Info@Wuxi-Express.example"))  # fmt: skip


@pytest.fixture
def crm(db: Path) -> Path:
    """c001 (Li's), c002 (East pool), then the example CSV: c101 and c102 in the East pool,
    c103 routed to the North pool."""
    enter_c001_and_c002(db)
    ok(poolkit(db, "import", CUSTOMERS, "--as admin"))
    return db


@pytest.fixture
def store(crm: Path) -> Iterator[SqliteStore]:
    with SqliteStore(crm) as opened:
        yield opened


def customer(db: Path, customer_id: str) -> dict[str, Any]:
    data: dict[str, Any] = ok(poolkit(db, "show", customer_id, as_json=True)).json()
    return data


def ids(db: Path, *filters: str, now: str = MONDAY) -> list[str]:
    return [c["id"] for c in ok(poolkit(db, "list", *filters, now=now, as_json=True)).json()]


def forecast(db: Path, days: int = 30, now: str = MONDAY) -> list[tuple[str, str, str]]:
    items = ok(poolkit(db, f"forecast --days {days}", now=now, as_json=True)).json()
    return [(item["customer_id"], item["action"], item["at"]) for item in items]


# ---------------------------------------------------------------------- init and policy


def test_init_creates_a_database_from_a_policy_and_a_team(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    run = ok(poolkit(path, "init --policy", POLICY, "--team", TEAM))
    assert run.lines == [
        f"initialised {path}: 6 reps, 2 pools, 3 drop rules, time zone Asia/Shanghai"
    ]
    assert ids(path) == []
    other = tmp_path / "json.db"
    run = ok(poolkit(other, "init --policy", POLICY, "--team", TEAM, as_json=True))
    assert run.json() == {"db": str(other), "reps": 6, "pools": 2}


def test_init_refuses_an_existing_database_unless_forced(
    crm: Path, store: SqliteStore, unchanged: Unchanged
) -> None:
    with unchanged(store):
        refused(poolkit(crm, "init --policy", POLICY, "--team", TEAM), 2, "exists", "--force")
    ok(poolkit(crm, "init --force --policy", OTHER_POLICY, "--team", TEAM))
    assert customer(crm, "c001")["owner_id"] == "li"  # the customers stay
    assert (
        ok(poolkit(crm, "policy", as_json=True)).json() == Policy.from_toml(OTHER_POLICY).to_dict()
    )


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ("[[drop_rules]]\nname = 'x'\nkind = 'no_follow_up'\ndays = 0\n", ["days", "> 0"]),
        ("timezone = 'Mars/Olympus'\n", ["timezone", "Mars/Olympus"]),
        ("this is not = = toml\n", ["not valid TOML"]),
    ],
)
def test_init_with_a_bad_policy_or_team_creates_nothing(
    tmp_path: Path, document: str, words: list[str]
) -> None:
    policy = tmp_path / "bad.toml"
    policy.write_text(document, encoding="utf-8")
    path = tmp_path / "crm.db"
    refused(poolkit(path, "init --policy", policy, "--team", TEAM), 2, *words)
    refused(poolkit(path, "init --policy", POLICY, "--team", tmp_path / "x.toml"), 2, "x.toml")
    assert not path.exists()


def test_policy_shows_the_stored_policy(db: Path) -> None:
    expected = Policy.from_toml(POLICY).to_dict()
    assert json.loads(ok(poolkit(db, "policy")).out) == expected
    assert ok(poolkit(db, "policy", as_json=True)).json() == expected


def test_policy_set_replaces_the_policy_and_recomputes_deadlines(crm: Path) -> None:
    def drops() -> list[tuple[str, str]]:
        return [(cid, at) for cid, action, at in forecast(crm) if action == "drop"]

    assert drops() == [("c001", NEXT_MONDAY)]
    run = ok(poolkit(crm, "policy --set", OTHER_POLICY))
    assert run.lines == ["policy updated; 1 customer rescheduled"]
    assert drops() == [("c001", "2026-03-12T09:00:00+08:00")]
    stored = ok(poolkit(crm, "policy", as_json=True)).json()
    assert stored == Policy.from_toml(OTHER_POLICY).to_dict()
    assert ok(poolkit(crm, "policy --set", POLICY, as_json=True)).json() == {"rescheduled": 1}
    assert drops() == [("c001", NEXT_MONDAY)]


def test_policy_set_with_a_bad_file_keeps_the_old_policy(crm: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[caps]\ndefault = -1\n", encoding="utf-8")
    refused(poolkit(crm, "policy --set", bad), 2, "caps.default")
    assert ok(poolkit(crm, "policy", as_json=True)).json() == Policy.from_toml(POLICY).to_dict()


def crm_hash(crm: Path) -> list[str]:
    import hashlib

    parts = [crm, crm.with_name(crm.name + "-wal")]
    return [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "" for p in parts]


def test_policy_what_if_shows_what_the_candidate_would_do_and_changes_nothing(crm: Path) -> None:
    ok(poolkit(crm, "claim c101 --as sun"))
    before = crm_hash(crm)
    run = ok(poolkit(crm, "policy --what-if", OTHER_POLICY, "--days 14"))
    assert crm_hash(crm) == before
    assert run.lines[0] == (
        f"what-if {OTHER_POLICY} against policy version 1, "
        "from 2026-03-02 09:00 +08:00 to 2026-03-16 09:00 +08:00 (14 days)"
    )
    assert run.lines[1] == (
        "2 private customers: 2 changed (0 earlier, 2 later, 0 gain a drop, 0 lose theirs)"
    )
    assert run.lines[2] == "by 2026-03-16 09:00 +08:00: 2 drops (now 2), 2 warnings (now 2)"
    assert "c001 (li, pool east): later +3d" in run.lines
    assert (
        "  next drop: 2026-03-09 09:00 +08:00 CD-no-follow-up -> "
        "2026-03-12 09:00 +08:00 CD-no-follow-up"
    ) in run.lines
    assert run.lines[-1] == "(nothing was changed: apply it with `poolkit policy --set`)"
    data = ok(poolkit(crm, "policy --what-if", OTHER_POLICY, "--days 14", as_json=True)).json()
    assert (data["changed"], data["later"], data["new_drops"], data["more"]) == (2, 2, 2, 0)
    assert [item["customer_id"] for item in data["items"]] == ["c001", "c101"]
    assert data["items"][0]["moved_by_seconds"] == 3 * 86400
    assert data["items"][0]["actions"][-1]["action"] == "drop"
    li = next(rep for rep in data["reps"] if rep["rep_id"] == "li")
    assert (li["held"], li["new_cap"], li["over_cap"], li["cap_full"]) == (1, 15, 0, False)
    assert crm_hash(crm) == before
    # What it said is what happens once the candidate is set.
    ok(poolkit(crm, "policy --set", OTHER_POLICY))
    drops = [(cid, at) for cid, action, at in forecast(crm, 14) if action == "drop"]
    assert drops == [
        (item["customer_id"], action["at"])
        for item in data["items"]
        for action in item["actions"]
        if action["action"] == "drop"
    ]


def test_policy_what_if_limits_its_list_and_flags_a_cap_cut(crm: Path, tmp_path: Path) -> None:
    ok(poolkit(crm, "claim c101 --as li"))
    tight = tmp_path / "tight.toml"
    text = OTHER_POLICY.read_text(encoding="utf-8").replace("default = 15", "default = 1")
    tight.write_text(text, encoding="utf-8")
    run = ok(poolkit(crm, "policy --what-if", tight, "--days 3 --limit 1"))
    li = next(line for line in run.lines if line.startswith("li "))
    assert li.split()[:4] == ["li", "2", "3->1", "1"]  # held 2, cap 3 -> 1, over by 1
    assert "(1 more changed customer: raise --limit to see them)" in run.lines
    data = ok(poolkit(crm, "policy --what-if", tight, "--limit 0", as_json=True)).json()
    assert (data["items"], data["more"]) == ([], 2)
    assert [rep["rep_id"] for rep in data["reps"] if rep["over_cap"]] == ["li"]


def test_policy_what_if_refuses_bad_usage(crm: Path, tmp_path: Path) -> None:
    refused(poolkit(crm, "policy --what-if", OTHER_POLICY, "--set", OTHER_POLICY), 2, "one")
    refused(poolkit(crm, "policy --what-if", OTHER_POLICY, "--days -1"), 2, "--days")
    refused(poolkit(crm, "policy --days 3"), 2, "--what-if")
    refused(poolkit(crm, "policy --set", OTHER_POLICY, "--limit 3"), 2, "--what-if")
    bad = tmp_path / "bad.toml"
    bad.write_text("[caps]\ndefault = -1\n", encoding="utf-8")
    refused(poolkit(crm, "policy --what-if", bad), 2, "caps.default")
    routed = tmp_path / "routed.toml"
    routed.write_text(
        POLICY.read_text(encoding="utf-8")
        + '\n[[routing]]\nattribute = "region"\nequals = "x"\npool = "nowhere"\n',
        encoding="utf-8",
    )
    refused(poolkit(crm, "policy --what-if", routed), 2, "nowhere")  # set would refuse it too


# ---------------------------------------------------------------------- import


def test_import_reports_each_row_that_was_not_created(db: Path) -> None:
    enter_c001_and_c002(db)
    assert ok(poolkit(db, "import", CUSTOMERS, "--as admin")).lines == [
        "row 5: collision: phone '+8613800138001' already belongs to customer 'c001': "
        "colleague li is already following this customer",
        "row 6: collision: email 'info@wuxi-express.example' already belongs to customer "
        "'c002': it is in public pool east; claim it from there",
        "row 7: duplicate: phone:+8613800138101 duplicates row 2",
        "row 8: invalid: phone: '12345' is not a valid phone: "
        "not a valid number (wrong length or unallocated prefix)",
        "7 rows: 3 created, 2 collision, 1 duplicate, 1 invalid",
    ]
    # Into the public pools by default; the North row follows the routing rule.
    assert ids(db, "--status public --pool east") == ["c002", "c101", "c102"]
    assert ids(db, "--pool north") == ["c103"]


def test_import_verbose_lists_the_created_rows_too(db: Path) -> None:
    run = ok(poolkit(db, "import", CUSTOMERS, "--as admin --verbose"))
    assert run.lines[:3] == ["row 2: created c101", "row 3: created c102", "row 4: created c103"]
    # Nothing to collide with in an empty database; the duplicate and the bad phone remain.
    assert run.lines[-1] == "7 rows: 5 created, 0 collision, 1 duplicate, 1 invalid"


def test_import_json_names_the_owner_the_pool_and_the_earlier_row(db: Path) -> None:
    enter_c001_and_c002(db)
    report = ok(poolkit(db, "import", CUSTOMERS, "--as admin", as_json=True)).json()
    row = {item["row"]: item for item in report["rows"]}
    assert [row[n]["outcome"] for n in range(2, 9)] == [
        "created", "created", "created", "collision", "collision", "duplicate", "invalid"
    ]  # fmt: skip
    assert row[2]["customer_id"] == "c101"
    assert (row[5]["other_customer_id"], row[5]["other_owner_id"]) == ("c001", "li")
    assert (row[6]["other_owner_id"], row[6]["other_pool_id"]) == (None, "east")
    assert row[7]["duplicate_of_row"] == 2
    assert "'12345' is not a valid phone" in row[8]["message"]


def test_import_into_the_private_pool_or_a_chosen_pool(db: Path, tmp_path: Path) -> None:
    ok(poolkit(db, "import", CUSTOMERS, "--as admin --private"))
    # The admin's cap is the policy's 3: two of the five good rows do not fit.
    assert ids(db, "--owner admin") == ["c101", "c102", "c103"]
    other = init(tmp_path / "other.db")
    ok(poolkit(other, "import", CUSTOMERS, "--as admin --pool north"))
    assert ids(other, "--pool north --status public") == ["c101", "c102", "c103", "c104", "c105"]


def test_a_short_import_shows_no_progress(db: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out, err = Terminal(), Terminal()
    argv = ["--db", str(db), "--now", MONDAY, "import", str(CUSTOMERS), "--as", "admin"]
    assert main(argv, out=out, err=err) == 0
    # Done within the first seconds: nothing on stderr (tests/cli/test_cli_import.py shows
    # the progress of a long one, on a terminal and in a log).
    assert err.getvalue() == ""


def test_import_refusals(
    crm: Path, store: SqliteStore, unchanged: Unchanged, tmp_path: Path
) -> None:
    no_name = tmp_path / "no_name.csv"
    no_name.write_text("id,phone\nx1,13800138999\n", encoding="utf-8")
    with unchanged(store):
        refused(poolkit(crm, "import", CUSTOMERS, "--as li"), 4, "only admins import")
        refused(poolkit(crm, "import", CUSTOMERS, "--as ma"), 4, "'ma' has departed")
        refused(poolkit(crm, "import", tmp_path / "none.csv", "--as admin"), 2, "cannot read")
        refused(poolkit(crm, "import", no_name, "--as admin"), 2, "'name' column")


# ---------------------------------------------------------------------- create


def test_create_into_the_private_pool_or_a_public_one(db: Path) -> None:
    run = ok(poolkit(db, 'create "Acme Trading" --id a1 --phone "138 0013 8000" --grade B',
                     '--tag fair --tag export --attr city=Suzhou --as li'))  # fmt: skip
    assert run.lines == ["created a1: Acme Trading, owned by li"]
    acme = customer(db, "a1")
    assert acme["keys"] == [["phone", "+8613800138000"]]  # normalised
    assert (acme["grade"], acme["tags"], acme["attributes"]) == (
        "B", ["export", "fair"], {"city": "Suzhou"}
    )  # fmt: skip
    run = ok(poolkit(db, "create Beta --id b1 --public --as zhao"))
    assert run.lines == ["created b1: Beta, in pool east"]
    run = ok(poolkit(db, "create Gamma --id g1 --attr region=north --public --as zhao"))
    assert run.lines == ["created g1: Gamma, in pool north"]  # by the routing rule
    data = ok(poolkit(db, "create Delta --id d1 --pool north --key org_code=60003734-1 --as chen",
                      as_json=True)).json()  # fmt: skip
    assert (data["id"], data["owner_id"], data["pool_id"]) == ("d1", "chen", "north")
    assert data["keys"] == [["org_code", "600037341"]]


def test_create_refusals(crm: Path, store: SqliteStore, unchanged: Unchanged) -> None:
    with unchanged(store):
        refused(poolkit(crm, "create Bright --phone +86-138-0013-8001 --as chen"), 5,
                "phone '+8613800138001'", "customer 'c001'", "colleague li")  # fmt: skip
        refused(poolkit(crm, "create X --id c001 --as chen"), 5, "'c001' is already taken")
        refused(poolkit(crm, "create X --phone 12345 --as chen"), 2, "'12345'")
        refused(poolkit(crm, "create X --key fax --as chen"), 2, "KIND=VALUE")
        refused(poolkit(crm, "create X --attr city --as chen"), 2, "NAME=VALUE")
        refused(poolkit(crm, "create X --as ma"), 4, "'ma' has departed")
        refused(poolkit(crm, "create X --as nobody"), 3, "unknown rep 'nobody'")
        refused(poolkit(crm, "create X --pool west --as li"), 3, "unknown pool 'west'")
        refused(poolkit(crm, "create X --public --pool north --as sun"), 4, "not a member")
        refused(poolkit(crm, "create '' --as li"), 2, "name")
    ok(poolkit(crm, "create Two --as li"))
    ok(poolkit(crm, "create Three --as li"))
    refused(poolkit(crm, "create Four --as li"), 5, "cap of 3")


# ---------------------------------------------------------------------- moves


def test_claim_and_its_refusals(crm: Path, store: SqliteStore, unchanged: Unchanged) -> None:
    assert ok(poolkit(crm, "claim c101 --as sun")).lines == ["claim: c101 is now owned by sun"]
    data = ok(poolkit(crm, "claim c102 --as sun", as_json=True)).json()
    assert (data["id"], data["owner_id"], data["status"]) == ("c102", "sun", "private")
    with unchanged(store):
        refused(poolkit(crm, "claim c002 --as sun"), 5, "2 claims in 7 days",
                "2026-03-09T09:00:00+08:00")  # fmt: skip
        refused(poolkit(crm, "claim c101 --as chen"), 5, "owned by sun")
        refused(poolkit(crm, "claim c103 --as li"), 4, "assign-only")
        refused(poolkit(crm, "claim c999 --as li"), 3, "unknown customer 'c999'")
        refused(poolkit(crm, "claim c002 --as ma"), 4, "departed")
    ok(poolkit(crm, "claim c002 --as chen"))
    ok(poolkit(crm, "return c002 --as chen --reason 'wrong trade'"))
    refused(poolkit(crm, "claim c002 --as chen"), 5, "lost customer 'c002' recently")


def test_assign_and_its_refusals(crm: Path, store: SqliteStore, unchanged: Unchanged) -> None:
    with unchanged(store):
        refused(poolkit(crm, "assign c103 --to li --as chen"), 4, "not a manager")
        refused(poolkit(crm, "assign c103 --to sun --as zhao"), 4, "not a member")
        refused(poolkit(crm, "assign c103 --to ma --as zhao"), 4, "departed")
        refused(poolkit(crm, "assign c103 --to nobody --as zhao"), 3, "unknown rep")
        refused(poolkit(crm, "assign c001 --to chen --as zhao"), 5, "owned by li")
        refused(poolkit(crm, "assign c103 --as zhao"), 2, "--to")
    run = ok(poolkit(crm, "assign c103 --to li --as zhao"))
    assert run.lines == ["assign: c103 is now owned by li"]
    assert customer(crm, "c103")["owner_id"] == "li"


def test_return_recycle_and_transfer(crm: Path, store: SqliteStore, unchanged: Unchanged) -> None:
    with unchanged(store):
        refused(poolkit(crm, "return c001 --as li"), 2, "--reason")
        refused(poolkit(crm, "return c001 --as li --reason ' '"), 2, "reason")
        refused(poolkit(crm, "return c001 --as chen --reason x"), 4, "only the owner")
        refused(poolkit(crm, "recycle c001 --as chen"), 4, "may not recycle")
        refused(poolkit(crm, "recycle c002 --as zhao"), 5, "in pool east")
        refused(poolkit(crm, "transfer c001 --to ma --as li"), 4, "departed")
        refused(poolkit(crm, "transfer c001 --to li --as li"), 2, "to its owner")
        refused(poolkit(crm, "transfer c001 --to chen --as sun"), 4, "only the owner")
    run = ok(poolkit(crm, "transfer c001 --to chen --as li"))
    assert run.lines == ["transfer: c001 is now owned by chen"]
    run = ok(poolkit(crm, "recycle c001 --as zhao --reason 'team reshuffle'"))
    assert run.lines == ["recycle: c001 is now in pool east"]
    assert customer(crm, "c001")["related_reps"].keys() == {"chen", "li"}
    ok(poolkit(crm, "claim c101 --as li"))
    run = ok(poolkit(crm, "return c101 --as li --reason 'no budget'", as_json=True))
    assert (run.json()["status"], run.json()["owner_id"]) == ("public", None)


def test_transfer_respects_the_receivers_cap(crm: Path) -> None:
    for name in ("One", "Two", "Three"):
        ok(poolkit(crm, f"create {name} --as sun"))
    refused(poolkit(crm, "transfer c001 --to sun --as li"), 5, "'sun' holds 3 of a cap of 3")


def test_follow_up_resets_the_drop_clock(crm: Path) -> None:
    run = ok(poolkit(crm, "follow-up c001 --kind visit --note 'met the buyer' --as li",
                     now=SATURDAY))  # fmt: skip
    # What was recorded, and the deadline it set.
    assert run.lines == [
        "follow-up: c001 (owned by li): visit by li at 2026-03-07 09:00 +08:00: met the buyer",
        "  next drop: 2026-03-14 09:00 +08:00 (no follow-up for 7 days since "
        "2026-03-07 09:00 +08:00, rule 'CD-no-follow-up')",
    ]
    assert customer(crm, "c001")["last_follow_up_at"] == SATURDAY
    assert forecast(crm, now=SATURDAY) == [
        ("c001", "warning", "2026-03-12T09:00:00+08:00"),
        ("c001", "drop", "2026-03-14T09:00:00+08:00"),
    ]
    refused(poolkit(crm, "follow-up c001 --kind fax --as li"), 2, "--kind")
    refused(poolkit(crm, "follow-up c001 --as sun"), 4, "may not follow up")
    data = ok(poolkit(crm, "follow-up c001 --kind deal --as li", as_json=True)).json()
    assert data["last_deal_at"] == MONDAY
    assert (data["recorded"]["method"], data["recorded"]["note"]) == ("deal", "")
    assert data["recorded"]["at"] == MONDAY
    assert data["next_drop"]["at"] == NEXT_MONDAY


def test_freeze_and_restore(crm: Path, store: SqliteStore, unchanged: Unchanged) -> None:
    refused(poolkit(crm, "freeze c002 --as li"), 4, "may not freeze")
    run = ok(poolkit(crm, "freeze c002 --as zhao --reason 'one-year contract'"))
    assert run.lines == ["freeze: c002 is now in the recycle bin"]
    assert ids(crm, "--status frozen") == ["c002"]
    with unchanged(store):
        refused(poolkit(crm, "claim c002 --as li"), 5, "in the recycle bin")
        refused(poolkit(crm, "freeze c002 --as zhao"), 5, "in the recycle bin")
        refused(poolkit(crm, "restore c002 --as li"), 4, "not a manager")
        refused(poolkit(crm, "restore c002 --pool west --as admin"), 3, "unknown pool 'west'")
        refused(poolkit(crm, "restore c001 --as admin"), 5, "owned by li")
    run = ok(poolkit(crm, "restore c002 --pool north --as admin"))
    assert run.lines == ["restore: c002 is now in pool north"]
    ok(poolkit(crm, "freeze c002 --as admin"))
    data = ok(poolkit(crm, "restore c002 --as zhao", as_json=True)).json()
    assert (data["status"], data["pool_id"]) == ("public", "north")


# ---------------------------------------------------------------------- show, history, list


def test_show_tells_where_a_customer_is_and_when_it_drops(crm: Path) -> None:
    lines = ok(poolkit(crm, "show c001")).lines
    assert lines[0] == "c001: Ningbo Bright Electronics"
    assert "  where:          owned by li" in lines
    assert "  keys:           phone:+8613800138001" in lines
    assert "  created:        2026-03-02 09:00 +08:00 by li" in lines
    assert lines[-1].startswith("  next drop:      2026-03-09 09:00 +08:00 (no follow-up for 7")
    public = ok(poolkit(crm, "show c002 --as sun")).lines
    assert "  where:          in pool east" in public
    assert not any(line.startswith("  next drop") for line in public)
    assert customer(crm, "c001")["created_at"] == MONDAY  # plain ISO 8601, no [zone]
    refused(poolkit(crm, "show c001 --as sun"), 4, "not visible")
    refused(poolkit(crm, "show c999"), 3, "unknown customer 'c999'")
    refused(poolkit(crm, "show c001 --as nobody"), 3, "unknown rep 'nobody'")


def test_history_lists_every_event(crm: Path) -> None:
    ok(poolkit(crm, "follow-up c001 --kind visit --note 'met the buyer' --as li"))
    ok(poolkit(crm, "sweep", now=NEXT_MONDAY))
    ok(poolkit(crm, "claim c001 --as sun", now="2026-03-20T10:00:00+08:00"))
    assert ok(poolkit(crm, "history c001")).lines == [
        "  1  2026-03-02 09:00 +08:00  created by li into the private pool of li",
        "  2  2026-03-02 09:00 +08:00  visit by li: met the buyer",
        "  3  2026-03-09 09:00 +08:00  dropped from li: no follow-up for 7 days since "
        "2026-03-02 09:00 +08:00, rule 'CD-no-follow-up'",
        "  4  2026-03-20 10:00 +08:00  claimed by sun from pool east",
    ]
    events = ok(poolkit(crm, "history c001 --as li", as_json=True)).json()
    assert [event["kind"] for event in events] == ["created", "followed_up", "dropped", "claimed"]
    assert events[0]["at"] == MONDAY
    refused(poolkit(crm, "history c001 --as chen"), 4, "not visible")
    refused(poolkit(crm, "history c999"), 3, "unknown customer 'c999'")


def test_list_shows_one_line_per_customer_and_a_count(crm: Path) -> None:
    assert ok(poolkit(crm, "list --owner li")).lines == [
        "c001         C  Ningbo Bright Electronics  — owned by li",
        "(1 customer)",
    ]
    lines = ok(poolkit(crm, "list --pool east --status public")).lines
    assert "c102         B  Hangzhou Precision Machinery  — in pool east [export, trade fair]" in (
        lines
    )
    assert lines[-1] == "(3 customers)"


def test_list_filters(crm: Path) -> None:
    ok(poolkit(crm, "claim c101 --as sun"))
    ok(poolkit(crm, "sweep", now=NEXT_MONDAY))  # c001 and c101 (grade C) drop
    assert ids(crm) == ["c001", "c002", "c101", "c102", "c103"]
    assert ids(crm, "--status private") == []
    assert ids(crm, "--status public --pool north") == ["c103"]
    assert ids(crm, "--grade C") == ["c001", "c101"]
    assert ids(crm, "--grade B --grade D") == ["c102", "c103"]
    assert ids(crm, "--tag export") == ["c102"]
    assert ids(crm, "--tag 'trade fair' --tag export") == ["c102"]
    assert ids(crm, "--attr 'source=website form'") == []  # those rows collided
    assert ids(crm, "--attr region=north") == ["c103"]
    assert ids(crm, "--dropped-since 2026-03-09T00:00:00+08:00") == ["c001", "c101"]
    assert ids(crm, "--limit 2") == ["c001", "c002"]
    assert ids(crm, "--limit 0") == []
    ok(poolkit(crm, "claim c102 --as li"))
    # Li sees both pools and what Li owns or used to own; Sun is no member of North.
    assert ids(crm, "--as li") == ["c001", "c002", "c101", "c102", "c103"]
    assert ids(crm, "--as sun") == ["c001", "c002", "c101"]
    # The limit counts what the rep may see, not what the query found.
    assert ids(crm, "--as sun --status public --limit 2") == ["c001", "c002"]
    assert ids(crm, "--owner li --as zhao") == ["c102"]
    refused(poolkit(crm, "list --status lost"), 2, "--status")
    refused(poolkit(crm, "list --limit -1"), 2, "--limit")
    refused(poolkit(crm, "list --dropped-since yesterday"), 2, "--dropped-since")
    refused(poolkit(crm, "list --as nobody"), 3, "unknown rep 'nobody'")
    # An unknown rep is refused as an unknown rep, not listed as owning nothing.
    refused(poolkit(crm, "list --owner ghost"), 3, "unknown rep 'ghost'")
    refused(poolkit(crm, "list --owner ghost --as admin"), 3, "unknown rep 'ghost'")


# ---------------------------------------------------------------------- edit, lock, delete


def test_edit_replaces_the_fields_given(
    crm: Path, store: SqliteStore, unchanged: Unchanged
) -> None:
    run = ok(poolkit(crm, "edit c001 --name 'Bright Co' --tag a --tag b --attr city=Ningbo",
                     "--phone '138 0013 8009' --as li"))  # fmt: skip
    assert run.lines == ["edit: c001 is now 'Bright Co', owned by li"]
    data = customer(crm, "c001")
    assert (data["name"], data["tags"], data["attributes"]) == (
        "Bright Co", ["a", "b"], {"city": "Ningbo"}
    )  # fmt: skip
    assert data["keys"] == [["phone", "+8613800138009"]]
    data = ok(poolkit(crm, "edit c001 --no-tags --as zhao", as_json=True)).json()
    assert (data["name"], data["tags"], data["attributes"]) == ("Bright Co", [], {"city": "Ningbo"})
    with unchanged(store):
        refused(poolkit(crm, "edit c001 --email info@wuxi-express.example --as li"), 5,
                "customer 'c002'")  # fmt: skip
        refused(poolkit(crm, "edit c001 --name X --as sun"), 4, "only the owner")
        refused(poolkit(crm, "edit c001 --tag x --no-tags --as li"), 2, "--no-tags")
        refused(poolkit(crm, "edit c001 --attr city --as li"), 2, "NAME=VALUE")
        refused(poolkit(crm, "edit c999 --name X --as li"), 3, "unknown customer")


def test_change_grade_moves_the_deadline(
    crm: Path, store: SqliteStore, unchanged: Unchanged
) -> None:
    assert forecast(crm)[-1] == ("c001", "drop", NEXT_MONDAY)
    run = ok(poolkit(crm, "change-grade c001 E --as li"))
    assert run.lines == ["change-grade: c001 is now grade E"]
    # Grade E has no 7-day rule in the example policy.
    assert [item for item in forecast(crm) if item[0] == "c001"] != [
        ("c001", "warning", SATURDAY), ("c001", "drop", NEXT_MONDAY)
    ]  # fmt: skip
    data = ok(poolkit(crm, "change-grade c001 - --as zhao", as_json=True)).json()
    assert data["grade"] is None
    with unchanged(store):
        refused(poolkit(crm, "change-grade c001 - --as li"), 2, "already has grade")
        refused(poolkit(crm, "change-grade c001 B --as chen"), 4, "only the owner")


def test_lock_exempts_from_drops_and_unlock_undoes_it(
    crm: Path, store: SqliteStore, unchanged: Unchanged
) -> None:
    refused(poolkit(crm, "lock c001 --as li"), 4, "lock")
    run = ok(poolkit(crm, "lock c001 --as zhao"))
    assert run.lines == ["lock: c001 is locked (owned by li): it does not drop"]
    assert forecast(crm) == []
    assert ok(poolkit(crm, "show c001")).lines[-1] == "  locked:         yes"
    with unchanged(store):
        refused(poolkit(crm, "lock c001 --as zhao"), 5, "locked")
    data = ok(poolkit(crm, "unlock c001 --as admin", as_json=True)).json()
    assert data["locked"] is False
    assert forecast(crm)[-1] == ("c001", "drop", NEXT_MONDAY)


def test_delete_is_for_admins_and_keeps_the_history(
    crm: Path, store: SqliteStore, unchanged: Unchanged
) -> None:
    with unchanged(store):
        refused(poolkit(crm, "delete c001 --as zhao"), 4, "only admins delete")
        refused(poolkit(crm, "delete c999 --as admin"), 3, "unknown customer")
    run = ok(poolkit(crm, "delete c001 --reason 'test entry' --as admin"))
    assert run.lines == ["delete: c001 is gone; `poolkit history c001` still shows it"]
    refused(poolkit(crm, "show c001"), 3, "unknown customer 'c001'")
    events = ok(poolkit(crm, "history c001", as_json=True)).json()
    assert (events[-1]["kind"], events[-1]["reason"]) == ("deleted", "test entry")
    assert ok(poolkit(crm, "delete c002 --as admin", as_json=True)).json() == {"deleted": "c002"}
    assert "c001" not in ids(crm) and "c002" not in ids(crm)


# ---------------------------------------------------------------------- supervisors


def test_reassign_between_a_supervisors_reps(
    crm: Path, store: SqliteStore, unchanged: Unchanged
) -> None:
    with unchanged(store):
        refused(poolkit(crm, "reassign c001 --to chen --as sun"), 4, "superior")
        refused(poolkit(crm, "reassign c001 --to li --as zhao"), 2, "already owns")
        refused(poolkit(crm, "reassign c001 --to ma --as zhao"), 4, "departed")
        refused(poolkit(crm, "reassign c002 --to li --as zhao"), 5, "in pool east")
        refused(poolkit(crm, "reassign c001 --as zhao"), 2, "--to")
    run = ok(poolkit(crm, "reassign c001 --to chen --reason 'Chen knows them' --as zhao"))
    assert run.lines == ["reassign: c001 is now owned by chen"]
    data = ok(poolkit(crm, "reassign c001 --to sun --as admin", as_json=True)).json()
    assert data["owner_id"] == "sun"
    assert ok(poolkit(crm, "history c001")).lines[-2].endswith("Chen knows them")


def test_change_pool_moves_a_public_customer(
    crm: Path, store: SqliteStore, unchanged: Unchanged
) -> None:
    with unchanged(store):
        refused(poolkit(crm, "change-pool c002 --to north --as li"), 4, "not a manager")
        refused(poolkit(crm, "change-pool c002 --to west --as zhao"), 3, "unknown pool 'west'")
        refused(poolkit(crm, "change-pool c002 --to east --as zhao"), 2, "already in pool")
        refused(poolkit(crm, "change-pool c001 --to north --as zhao"), 5, "owned by li")
    assert ok(poolkit(crm, "change-pool c002 --to north --as zhao")).lines == [
        "change-pool: c002 is now in pool north"
    ]
    data = ok(poolkit(crm, "change-pool c002 --to east --as admin", as_json=True)).json()
    assert (data["pool_id"], data["status"]) == ("east", "public")


def test_depart_drops_every_customer_of_the_rep(
    crm: Path, store: SqliteStore, unchanged: Unchanged
) -> None:
    ok(poolkit(crm, "claim c101 --as li"))
    with unchanged(store):
        refused(poolkit(crm, "depart li --as zhao"), 4, "only admins")
        refused(poolkit(crm, "depart ghost --as admin"), 3, "unknown rep 'ghost'")
        refused(poolkit(crm, "depart ma --as admin"), 2, "already departed")
        refused(poolkit(crm, "depart admin --as admin"), 2, "own departure")
    run = ok(poolkit(crm, "depart li --as admin"))
    assert run.lines == ["depart: li has left; 2 customers dropped to the public pool: c001, c101"]
    assert ids(crm, "--status public --pool east") == ["c001", "c002", "c101", "c102"]
    refused(poolkit(crm, "claim c002 --as li"), 4, "'li' has departed")
    data = ok(poolkit(crm, "depart sun --as admin", as_json=True)).json()
    assert data == {"assigned": [], "dropped": [], "rep_id": "sun"}


# ---------------------------------------------------------------------- look-alikes


def test_look_alikes_are_reviewed_then_kept_apart_or_merged(
    crm: Path, store: SqliteStore, unchanged: Unchanged
) -> None:
    assert ok(poolkit(crm, "similar 'Suzhou Silk Textile Co'")).lines == [
        "c101         Suzhou Silk Textiles  (score 96)",
        "(1 look-alike)",
    ]
    run = ok(poolkit(crm, "create 'Suzhou Silk Textile Co' --id c201 --as chen"))
    assert run.lines[1] == "  looks like c101 'Suzhou Silk Textiles' (score 96); filed for review"
    ok(poolkit(crm, "create 'Wuxi Express Logistic' --id c202 --as chen"))
    assert ok(poolkit(crm, "reviews")).lines == [
        "c201~c101                c201 looks like c101 (score 96) [open]",
        "c202~c002                c202 looks like c002 (score 97) [open]",
        "(2 review items)",
    ]
    with unchanged(store):
        refused(poolkit(crm, "not-same c202~c002 --as zhao"), 4, "only admins review")
        refused(poolkit(crm, "not-same nope --as admin"), 3, "nope")
        refused(poolkit(crm, "merge c101 c201 --as zhao"), 4, "only admins merge")
        refused(poolkit(crm, "merge c101 c101 --as admin"), 2, "into itself")
        refused(poolkit(crm, "merge c101 --as admin"), 2, "absorb")
    item = ok(poolkit(crm, "not-same c202~c002 --as admin", as_json=True)).json()
    assert (item["status"], item["resolved_by"]) == ("not_same", "admin")
    refused(poolkit(crm, "not-same c202~c002 --as admin"), 2, "already not_same")
    run = ok(poolkit(crm, "merge c101 c201 --as admin"))
    assert run.lines == ["merge: c201 merged into c101, now owned by chen"]
    refused(poolkit(crm, "show c201"), 3, "unknown customer 'c201'")
    merged = ok(poolkit(crm, "history c101 --merged")).lines
    assert {line.split()[0] for line in merged} == {"c101", "c201"}
    assert ok(poolkit(crm, "reviews")).lines == ["(0 review items)"]
    items = ok(poolkit(crm, "reviews --all --customer c101", as_json=True)).json()
    assert [(i["id"], i["status"]) for i in items] == [("c201~c101", "merged")]
    refused(poolkit(crm, "history c101 --merged --as sun"), 4, "not visible")


# ---------------------------------------------------------------------- sweep and forecast


def test_sweep_warns_then_drops_and_says_so(crm: Path) -> None:
    run = ok(poolkit(crm, "sweep", now="2026-03-06T09:00:00+08:00"))
    assert run.lines == ["sweep at 2026-03-06 09:00 +08:00: 0 dropped, 0 warned"]
    assert ok(poolkit(crm, "sweep", now=SATURDAY)).lines == [
        "warned li about c001: will drop at 2026-03-09 09:00 +08:00: no follow-up for 7 days "
        "since 2026-03-02 09:00 +08:00, rule 'CD-no-follow-up'",
        "sweep at 2026-03-07 09:00 +08:00: 0 dropped, 1 warned",
    ]
    report = ok(poolkit(crm, "sweep", now=NEXT_MONDAY, as_json=True)).json()
    assert [(item["customer_id"], item["rep_id"]) for item in report["dropped"]] == [("c001", "li")]
    assert (report["at"], report["warned"]) == (NEXT_MONDAY, [])
    again = ok(poolkit(crm, "sweep", now=NEXT_MONDAY)).lines
    assert again == ["sweep at 2026-03-09 09:00 +08:00: 0 dropped, 0 warned"]


def test_sweep_dry_run_changes_nothing_and_matches_the_sweep(
    crm: Path, store: SqliteStore, unchanged: Unchanged
) -> None:
    ok(poolkit(crm, "claim c101 --as sun"))
    ok(poolkit(crm, "assign c103 --to chen --as zhao", now="2026-03-04T09:00:00+08:00"))
    at = "2026-03-09T10:00:00+08:00"  # c001 and c101 are due to drop, c103 to be warned
    with unchanged(store):
        dry = ok(poolkit(crm, "sweep --dry-run", now=at))
        planned = ok(poolkit(crm, "sweep --dry-run", now=at, as_json=True)).json()
    assert dry.lines[0].startswith("would drop c001 (li): no follow-up for 7 days")
    assert dry.lines[-1] == "(dry run at 2026-03-09 10:00 +08:00: nothing changed)"
    # A customer that drops is not warned as well, in the dry run as in the sweep; the dry
    # run prints the report the sweep then prints.
    done = ok(poolkit(crm, "sweep", now=at, as_json=True)).json()
    for report in (planned, done):
        assert report["at"] == at
        assert sorted(item["customer_id"] for item in report["dropped"]) == ["c001", "c101"]
        assert [item["customer_id"] for item in report["warned"]] == ["c103"]
    assert [item["message"] for item in planned["dropped"]] == [
        item["message"] for item in done["dropped"]
    ]


def test_sweep_at_an_earlier_time_but_never_the_future(
    crm: Path, store: SqliteStore, unchanged: Unchanged
) -> None:
    later = "2026-03-20T12:00:00+08:00"
    run = ok(poolkit(crm, f"sweep --at {SATURDAY}", now=later))
    assert run.lines[-1] == "sweep at 2026-03-07 09:00 +08:00: 0 dropped, 1 warned"
    with unchanged(store):
        for extra in ("", "--dry-run"):
            refused(poolkit(crm, f"sweep --at {later} {extra}", now=SATURDAY), 2,
                    "cannot sweep the future", "poolkit forecast")  # fmt: skip
        refused(poolkit(crm, "sweep --at '2026-03-07 09:00'", now=later), 2, "no time zone")


def test_forecast_lists_warnings_and_drops_in_the_coming_days(crm: Path) -> None:
    assert ok(poolkit(crm, "forecast --days 7")).lines == [
        "2026-03-07 09:00 +08:00  warning c001 (li): will drop at 2026-03-09 09:00 +08:00: no "
        "follow-up for 7 days since 2026-03-02 09:00 +08:00, rule 'CD-no-follow-up'",
        "2026-03-09 09:00 +08:00  drop    c001 (li): no follow-up for 7 days since "
        "2026-03-02 09:00 +08:00, rule 'CD-no-follow-up'",
        "(2 events in the next 7 days)",
    ]
    assert ok(poolkit(crm, "forecast --days 6")).lines[-1] == "(1 event in the next 6 days)"
    assert ok(poolkit(crm, "forecast --days 0", as_json=True)).json() == []
    items = ok(poolkit(crm, "forecast", as_json=True)).json()  # 7 days by default
    assert [(item["customer_id"], item["action"], item["rule"]) for item in items] == [
        ("c001", "warning", "CD-no-follow-up"), ("c001", "drop", "CD-no-follow-up")
    ]  # fmt: skip
    refused(poolkit(crm, "forecast --days -1"), 2, "--days")
    refused(poolkit(crm, "forecast --days week"), 2, "--days")


# ---------------------------------------------------------------------- demo


def test_demo_is_repeatable_and_refuses_to_overwrite(tmp_path: Path) -> None:
    first, second, third = (tmp_path / name for name in ("a.db", "b.db", "c.db"))
    small = "demo --days 2 --customers 30"
    a = ok(poolkit(first, small)).out.replace(str(first), "DB")
    b = ok(poolkit(second, small)).out.replace(str(second), "DB")
    c = ok(poolkit(third, small, "--seed 8")).out.replace(str(third), "DB")
    assert a == b
    assert a != c
    assert a.startswith("Day  1 2026-03-03: ")
    assert "  poolkit --db DB --now 2026-03-04T18:00:00+08:00 list --owner li\n" in a
    assert len(ids(first)) >= 30  # the database stays, for the other commands
    refused(poolkit(first, small), 2, "already exists", "--force")
    data = ok(poolkit(first, small, "--force", as_json=True)).json()
    assert [day["day"] for day in data["days"]] == [1, 2]
    assert sum(data["where"].values()) == len(ids(first))
    refused(poolkit(tmp_path / "d.db", "demo --days 0"), 2, "--days")
    refused(poolkit(tmp_path / "d.db", "demo --customers none"), 2, "--customers")


# ---------------------------------------------------------------------- every command


def test_every_printing_command_speaks_json(crm: Path, tmp_path: Path) -> None:
    for command in (
        "policy",
        "create 'Json Trading' --as li",
        f"import {shlex.quote(str(CUSTOMERS))} --as admin",
        "claim c101 --as sun",
        "follow-up c101 --as sun",
        "transfer c101 --to chen --as sun",
        "recycle c101 --as zhao",
        "assign c101 --to sun --as zhao",
        "return c101 --reason x --as sun",
        "freeze c101 --as zhao",
        "restore c101 --as zhao",
        "show c101",
        "history c101",
        "list",
        "sweep",
        "sweep --dry-run",
        "forecast",
        f"policy --set {shlex.quote(str(POLICY))}",
        "edit c101 --name 'Suzhou Silk' --as zhao",
        "change-grade c101 B --as zhao",
        "lock c101 --as zhao",
        "unlock c101 --as zhao",
        "assign c101 --to li --as zhao",
        "reassign c101 --to chen --as zhao",
        "change-pool c102 --to north --as zhao",
        "similar 'Suzhou Silk'",
        "create 'Suzhou Silk Co' --id s1 --as li",
        "reviews --all",
        "not-same s1~c101 --as admin",
        "merge c102 c002 --as admin",
        "history c102 --merged",
        "delete s1 --as admin",
        "depart chen --as admin",
    ):
        assert isinstance(ok(poolkit(crm, command, as_json=True)).json(), dict | list), command
    run = ok(poolkit(tmp_path / "j.db", "init --policy", POLICY, "--team", TEAM, as_json=True))
    assert run.json()["reps"] == 6
    run = ok(poolkit(tmp_path / "d.db", "demo --days 1 --customers 5", as_json=True))
    assert run.json()["days"][0]["day"] == 1


def test_bad_usage_is_one_line_with_exit_code_2(tmp_path: Path, crm: Path) -> None:
    refused(poolkit(crm, "claim c101"), 2, "--as", "poolkit claim --help")
    refused(poolkit(crm, "fish c101"), 2, "invalid choice: 'fish'")
    refused(poolkit(crm), 2, "COMMAND")
    refused(poolkit(crm, "list --frobnicate"), 2, "unrecognized arguments: --frobnicate")
    refused(poolkit(crm, "list", now="2026-03-02T09:00"), 2, "no time zone",
            "e.g. 2026-03-02T09:00:00+08:00")  # fmt: skip
    refused(poolkit(crm, "list", now="soon"), 2, "not an ISO 8601")
    refused(poolkit(tmp_path / "missing.db", "list"), 2, "no database", "poolkit init")
    refused(poolkit(tmp_path / "no" / "dir.db", "init --policy", POLICY, "--team", TEAM), 2,
            "cannot open database")  # fmt: skip
    junk = tmp_path / "junk.db"
    junk.write_text("not a database\n" * 100, encoding="utf-8")
    refused(poolkit(junk, "list"), 2, "cannot open database")
    empty = tmp_path / "empty.db"
    SqliteStore(empty).close()
    refused(poolkit(empty, "list"), 2, "has no policy", "poolkit init")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        # Bytes that are not UTF-8 reach Python as lone surrogates (poolkit show $'\xff').
        (["show", "\udcff"], ["argument 6 is not UTF-8 text", "\\xff"]),
        (["create", "\ud800", "--as", "li"], ["argument 6 is not UTF-8 text"]),
        (["list", "--owner", "l\udce9"], ["argument 7 is not UTF-8 text"]),
        (["list", "--limit", "99999999999999999999"], ["--limit", "at most"]),
        (["forecast", "--days", "99999999999999999999"], ["--days", "at most"]),
        (["forecast", "--days", "3652500"], ["--days", "past the end of the calendar"]),
        (["--now", "0001-01-01T00:00:00+08:00", "list"], ["--now", "outside the calendar"]),
        (["--now", "9999-12-31T23:00:00+00:00", "forecast"], ["past the end of the calendar"]),
        (["--now", "9999-12-31T23:00:00+00:00", "sweep", "--dry-run"], ["out of range"]),
        (
            ["--now", "9999-12-31T23:00:00+00:00", "create", "X", "--as", "li"],
            ["outside the calendar"],
        ),
    ],
)
def test_bad_text_numbers_and_instants_are_one_line_with_exit_code_2(
    crm: Path, store: SqliteStore, unchanged: Unchanged, argv: list[str], words: list[str]
) -> None:
    out, err = io.StringIO(), io.StringIO()
    with unchanged(store):
        code = main(["--db", str(crm), "--now", MONDAY, *argv], out=out, err=err)
    refused(Run(code, out.getvalue(), err.getvalue()), 2, *words)


def test_the_first_instant_of_the_calendar_is_swept_without_error(crm: Path) -> None:
    run = ok(poolkit(crm, "sweep --dry-run", now="0001-01-01T00:00:00+00:00"))
    assert run.lines[-1].endswith("nothing changed)")
    assert (
        ok(poolkit(crm, "sweep", now="0001-01-01T00:00:00+00:00"))
        .lines[-1]
        .endswith("0 dropped, 0 warned")
    )


def test_an_undecodable_environment_variable_is_named(
    crm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POOLKIT_NOW", "2026-03-02T09:00:00+08:00\udcff")
    out, err = io.StringIO(), io.StringIO()
    run = Run(main(["--db", str(crm), "list"], out=out, err=err), out.getvalue(), err.getvalue())
    refused(run, 2, "POOLKIT_NOW is not UTF-8 text")


def test_ctrl_c_during_an_import_says_what_was_committed_and_how_to_resume(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C arrives after two batches of two rows: those four rows stay, the rest do not,
    and a second run of the same command finishes the job."""
    original = PoolService.import_customers

    def interrupted(
        self: PoolService, *args: Any, progress: Callable[[int], None], **options: Any
    ) -> Any:
        def then_ctrl_c(done: int) -> None:
            progress(done)
            if done >= 4:
                raise KeyboardInterrupt

        return original(self, *args, **{**options, "batch_size": 2, "progress": then_ctrl_c})

    monkeypatch.setattr(PoolService, "import_customers", interrupted)
    run = poolkit(db, "import", CUSTOMERS, "--as admin")
    line = refused(run, 130, "interrupted: 4 rows handled and committed",
                   "up to line 5 of the file", "run the same command again")  # fmt: skip
    assert "Traceback" not in line
    assert ids(db) == ["c101", "c102", "c103", "c104"]
    monkeypatch.setattr(PoolService, "import_customers", original)
    lines = ok(poolkit(db, "import", CUSTOMERS, "--as admin")).lines
    # Row 7 duplicated row 2 in the file; row 2 is stored now, so it collides.
    assert lines[-1] == "7 rows: 1 created, 5 collision, 0 duplicate, 1 invalid"
    assert ids(db) == ["c101", "c102", "c103", "c104", "c105"]


def test_ctrl_c_elsewhere_is_one_line_and_exit_code_130(
    crm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(self: PoolService, at: Any = None) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(PoolService, "sweep", interrupted)
    assert refused(poolkit(crm, "sweep"), 130) == "error: interrupted"


def test_the_shared_options_may_follow_the_command(crm: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--db", str(tmp_path / "none.db"), "list", "--owner", "li", "--json"]
    argv += ["--db", str(crm), "--now", MONDAY]
    assert main(argv, out=out, err=err) == 0, err.getvalue()
    assert [c["id"] for c in json.loads(out.getvalue())] == ["c001"]


def test_the_command_line_uses_only_the_services_public_operations() -> None:
    """No store query, no query object, no settings key outside the one stopgap module
    (cli/_service.py, which keeps the policy until the library stores it)."""
    package = Path(cli.__file__).parent
    for module in sorted(package.glob("*.py")):
        if module.name == "_service.py":
            continue
        text = module.read_text(encoding="utf-8")
        for word in ("unit_of_work", "CustomerQuery", "settings", "uow", "poolkit.service"):
            assert word not in text, (module.name, word)


def test_help_goes_to_stdout_and_exits_0(db: Path) -> None:
    run = poolkit(db, "--help")
    assert (run.code, run.err) == (0, "")
    assert run.out.startswith("usage: poolkit")
    assert all(command in run.out for command in COMMANDS)
    run = poolkit(db, "sweep --help")
    assert (run.code, run.err) == (0, "")
    assert "--dry-run" in run.out


def test_the_environment_names_the_database_and_the_time(
    crm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POOLKIT_DB", str(crm))
    monkeypatch.setenv("POOLKIT_NOW", SATURDAY)
    out, err = io.StringIO(), io.StringIO()
    assert main(["sweep"], out=out, err=err) == 0
    assert (
        out.getvalue().splitlines()[-1] == "sweep at 2026-03-07 09:00 +08:00: 0 dropped, 1 warned"
    )
    # The options beat the environment.
    run = ok(poolkit(crm, "sweep", now=NEXT_MONDAY))
    assert run.lines[-1] == "sweep at 2026-03-09 09:00 +08:00: 1 dropped, 0 warned"


def test_the_exit_codes_are_documented_in_the_module_and_the_docs() -> None:
    table = cli.__doc__ or ""
    page = DOCS.read_text(encoding="utf-8")
    for code in {code for _, code in EXIT_CODES} | {0}:
        assert re.search(rf"^{code}\s+\w", table, re.MULTILINE), code
        assert re.search(rf"^\| {code} \|", page, re.MULTILINE), code


def test_a_closed_pipe_ends_the_command_quietly(
    crm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``poolkit list | head -1``: the reader goes away, poolkit stops without a traceback."""
    with (tmp_path / "sink").open("w") as sink:

        class ClosedPipe(io.StringIO):
            def write(self, text: str) -> int:
                raise BrokenPipeError(32, "Broken pipe")

            def fileno(self) -> int:
                return sink.fileno()

        monkeypatch.setattr(sys, "stdout", ClosedPipe())
        monkeypatch.setattr(sys, "argv", ["poolkit", "--db", str(crm), "--now", MONDAY, "list"])
        with pytest.raises(SystemExit) as exit:
            entry_point()
    assert exit.value.code == 1


def test_the_installed_command_runs_in_its_own_process(crm: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("POOLKIT_DB", "POOLKIT_NOW")}
    env.update(POOLKIT_DB=str(crm), POOLKIT_NOW=MONDAY)

    def run(*args: str | bytes) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "poolkit", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, check=False)

    listed = run("list", "--owner", "li")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert listed.stdout.splitlines()[-1] == "(1 customer)"
    # poolkit show $'\xff': bytes that are not UTF-8, as a shell passes them.
    undecodable = run("show", b"\xff")
    assert (undecodable.returncode, undecodable.stdout) == (2, "")
    assert undecodable.stderr == "error: argument 2 is not UTF-8 text: b'\\xff'\n"
    failed = run("show", "c999")
    assert (failed.returncode, failed.stdout, failed.stderr) == (
        3, "", "error: unknown customer 'c999'\n"
    )  # fmt: skip


# ---------------------------------------------------------------------- the docs


@attrs.frozen
class Fence:
    tag: str
    first: int  # line number of the opening fence
    last: int  # line number of the closing fence
    body: tuple[str, ...]


def fences(text: str) -> list[Fence]:
    found: list[Fence] = []
    opened: tuple[str, int] | None = None
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if opened is None:
            if line.startswith("```"):
                opened, body = (line[3:].strip(), number), []
        elif line.strip() == "```":
            found.append(Fence(opened[0], opened[1], number, tuple(body)))
            opened = None
        else:
            body.append(line)
    assert opened is None, "a fence is never closed"
    return found


def sessions(text: str) -> list[tuple[Fence, Fence | None]]:
    """Each ```sh block, with the ```text block after it when only blank lines come between:
    what the commands print, stdout and stderr together, as a terminal shows them."""
    lines = text.splitlines()
    blocks = fences(text)
    found: list[tuple[Fence, Fence | None]] = []
    for block, after in zip(blocks, [*blocks[1:], None], strict=True):
        if block.tag != "sh":
            continue
        adjacent = after is not None and not "".join(lines[block.last : after.first - 1]).strip()
        found.append((block, after if adjacent and after and after.tag == "text" else None))
    return found


class Shell:
    """Just enough of a shell for the docs: ``export``, ``rm -f``, ``poolkit``, ``echo $?``.
    Paths under /tmp/ in the docs are put under the test's own directory."""

    def __init__(self, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.scratch = scratch
        self.monkeypatch = monkeypatch
        self.status = 0

    def path(self, text: str) -> str:
        return text.replace("/tmp/", f"{self.scratch}/")

    def run(self, line: str) -> str:
        words = [self.path(word) for word in shlex.split(line, comments=True)]
        if not words:
            return ""
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            self.monkeypatch.setenv(name, value)
            return ""
        if words[:2] == ["rm", "-f"]:
            for pattern in words[2:]:
                for name in glob.glob(pattern):
                    Path(name).unlink()
            return ""
        if words == ["echo", "$?"]:
            return f"{self.status}\n"
        assert words[0] == "poolkit", f"the docs test cannot run {line!r}"
        terminal = io.StringIO()
        self.status = main(words[1:], out=terminal, err=terminal)
        return terminal.getvalue()


def test_the_docs_show_what_the_commands_print(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    shell = Shell(tmp_path, monkeypatch)
    found = sessions(DOCS.read_text(encoding="utf-8"))
    assert sum(1 for _, shown in found if shown is not None) >= 20
    for block, shown in found:
        printed = "".join(shell.run(line) for line in block.body)
        if shown is not None:
            expected = "".join(f"{line}\n" for line in shown.body)
            assert printed == shell.path(expected), f"docs/cli.md:{block.first}"


def help_commands() -> list[str]:
    """The commands ``poolkit --help`` lists, in its order."""
    out = io.StringIO()
    assert main(["--help"], out=out, err=io.StringIO()) == 0
    text = out.getvalue()
    listing = text[text.index("  COMMAND\n") : text.index("\noptions:")]
    return re.findall(r"^    (\S+)", listing, re.MULTILINE)


def docs_commands() -> set[str]:
    """The commands the session of docs/cli.md runs."""
    lines = [line for block, _ in sessions(DOCS.read_text(encoding="utf-8")) for line in block.body]
    found = (re.match(r"poolkit (?:--\S+ \S+ )*(?:--json )?([a-z][\w-]*)", line) for line in lines)
    return {match.group(1) for match in found if match}


def test_the_docs_and_the_help_name_the_same_commands() -> None:
    listed = help_commands()
    assert set(COMMANDS) <= set(listed)
    assert {"depart", "delete", "lock", "unlock", "merge", "not-same", "reviews"} <= set(listed)
    assert len(listed) == len(set(listed))
    assert sorted(docs_commands()) == sorted(listed)
    text = DOCS.read_text(encoding="utf-8")
    # And each has its heading or its place in one.
    assert [name for name in listed if f"`{name}`" not in text] == []


def test_the_docs_run_every_command_and_show_the_example_csv() -> None:
    text = DOCS.read_text(encoding="utf-8")
    lines = [line for block, _ in sessions(text) for line in block.body]
    for command in COMMANDS:
        assert any(re.match(rf"poolkit (--\S+ \S+ )*{command}\b", line) for line in lines), command
    example = CUSTOMERS.read_text(encoding="utf-8")
    assert example in [
        "".join(f"{line}\n" for line in f.body) for f in fences(text) if f.tag == "csv"
    ]
    assert "crontab" in text and "POOLKIT_DB" in text and "POOLKIT_NOW" in text


# ---------------------------------------------------------------------- automatic assignment


def test_sweep_and_depart_say_who_the_pool_assigned_and_why(tmp_path: Path) -> None:
    policy = tmp_path / "auto.toml"
    policy.write_text(
        POLICY.read_text(encoding="utf-8")
        + '\n[[assignment]]\npool = "east"\nstrategy = "round_robin"\n'
        + 'on = ["dropped", "departed"]\n',
        encoding="utf-8",
    )
    crm = init(tmp_path / "auto.db", policy)
    ok(poolkit(crm, "create 'Lead One' --id l1 --grade C --as li"))
    run = ok(poolkit(crm, "sweep", now=NEXT_MONDAY))
    assert run.lines[1:] == [
        "assigned l1 to chen: round robin: first in turn",
        "sweep at 2026-03-09 09:00 +08:00: 1 dropped, 0 warned",
    ]
    ok(poolkit(crm, "create 'Lead Two' --id l2 --as chen", now=NEXT_MONDAY))
    run = ok(poolkit(crm, "depart chen --as admin", now=NEXT_MONDAY))
    assert run.lines == [
        "depart: chen has left; 0 customers dropped to the public pool",
        "assigned l1 to sun: round robin: next after chen; "
        "passed over li (in the cooldown until 2026-03-16 09:00 +08:00)",
        "assigned l2 to li: round robin: next after sun; "
        "passed over chen (just lost this customer)",
    ]
