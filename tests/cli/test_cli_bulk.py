"""The move commands with several customers: per-customer lines, a summary, the first
refusal's exit code, ``--ids-file``, ``--all-or-nothing`` and ``--json``."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import CUSTOMERS, customer, enter_c001_and_c002, init, ok, poolkit

from poolkit.stores.sqlite import SqliteStore


@pytest.fixture
def crm(tmp_path: Path) -> Path:
    """c001 (Li's); c002, c101, c102 and c105 in the East pool; c103 in the North pool.
    Li's cap is 3."""
    db = init(tmp_path / "crm.db")
    enter_c001_and_c002(db)
    ok(poolkit(db, "import", CUSTOMERS, "--as admin"))
    return db


def test_a_bulk_claim_claims_up_to_the_cap_and_exits_with_the_caps_code(crm: Path) -> None:
    run = poolkit(crm, "claim c002 c101 c102 --as li")
    assert run.lines == [
        "claim: c002 is now owned by li",
        "claim: c101 is now owned by li",
        "claim: c102 refused: rep 'li' holds 3 of a cap of 3; release a customer first",
        "claim: 2 done, 1 refused (per-customer)",
    ]
    assert run.code == 5
    assert run.err == "error: rep 'li' holds 3 of a cap of 3; release a customer first\n"
    assert customer(crm, "c102")["status"] == "public"


def test_all_or_nothing_moves_none_when_one_is_refused(crm: Path) -> None:
    with SqliteStore(crm) as store, store.unit_of_work() as uow:
        before = [uow.customers.get(cid) for cid in ("c002", "c101", "c102")]
    run = poolkit(crm, "claim c002 c101 c102 --all-or-nothing --as li")
    assert run.lines == [
        "claim: c002 not done: rolled back, c102 was refused",
        "claim: c101 not done: rolled back, c102 was refused",
        "claim: c102 refused: rep 'li' holds 3 of a cap of 3; release a customer first",
        "claim: 0 done, 3 refused (all-or-nothing)",
    ]
    assert run.code == 5
    with SqliteStore(crm) as store, store.unit_of_work() as uow:
        assert [uow.customers.get(cid) for cid in ("c002", "c101", "c102")] == before


def test_ids_come_from_a_file_and_the_arguments(crm: Path, tmp_path: Path) -> None:
    listing = tmp_path / "ids.txt"
    listing.write_text("# picked at the fair\nc101\n\n  c102  # the machinery one\n")
    run = poolkit(crm, "transfer c001 --ids-file", listing, "--to sun --as li")
    assert run.code == 5
    assert [line.split(":")[1] for line in run.lines] == [
        " c001 is now owned by sun",
        " c101 refused",
        " c102 refused",
        " 1 done, 2 refused (per-customer)",
    ]
    run = ok(poolkit(crm, "assign c002 --ids-file", listing, "--to chen --as zhao"))
    assert run.lines == [
        "assign: c002 is now owned by chen",
        "assign: c101 is now owned by chen",
        "assign: c102 is now owned by chen",
        "assign: 3 done, 0 refused (per-customer)",
    ]


def test_one_customer_alone_is_the_single_move(crm: Path) -> None:
    assert ok(poolkit(crm, "claim c002 --as li")).lines == ["claim: c002 is now owned by li"]
    one = ok(poolkit(crm, "freeze c101 --all-or-nothing --as zhao"))
    assert one.lines == [
        "freeze: c101 is now in the recycle bin",
        "freeze: 1 done, 0 refused (all-or-nothing)",
    ]


def test_every_bulk_move_of_the_command_line(crm: Path) -> None:
    ok(poolkit(crm, "claim c002 c101 --as li"))
    grade = ok(poolkit(crm, "change-grade c001 c002 A --as zhao"))
    assert grade.lines[-1] == "change-grade: 2 done, 0 refused (per-customer)"
    assert customer(crm, "c002")["grade"] == "A"
    back = ok(poolkit(crm, "return c001 c002 --reason 'no budget' --as li"))
    assert back.lines[-1] == "return: 2 done, 0 refused (per-customer)"
    recycled = ok(poolkit(crm, "recycle c101 --reason reshuffle --all-or-nothing --as zhao"))
    assert recycled.lines[0] == "recycle: c101 is now in pool east"


def test_json_lists_each_customer_and_a_refusal_still_sets_the_exit_code(crm: Path) -> None:
    run = poolkit(crm, "claim c002 c999 --as li", as_json=True)
    assert run.code == 3 and run.err == "error: unknown customer 'c999'\n"
    data = run.json()
    assert (data["operation"], data["mode"], data["done"], data["refused"]) == (
        "claim",
        "per-customer",
        1,
        1,
    )
    first, second = data["items"]
    assert first["done"] and first["customer"]["owner_id"] == "li" and first["error"] is None
    assert not second["done"] and second["customer"] is None
    assert (second["error"], second["reason"]) == ("CustomerNotFound", "unknown customer 'c999'")


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("claim --as li", "give a customer id"),
        ("claim c002 c002 --as li", "ids given more than once: c002"),
        ("claim --ids-file /nonexistent/ids.txt --as li", "cannot read the ids file"),
        ("return c001 c002 --reason ' ' --as li", "a return needs a reason"),
    ],
)
def test_a_bad_bulk_request_is_one_error_line_with_code_2(
    crm: Path, command: str, words: str
) -> None:
    run = poolkit(crm, command)
    assert (run.code, run.out) == (2, "")
    assert run.err.startswith("error: ") and words in run.err
