"""Every right in one pure module: the rights table of docs/operations.md matches it row by
row, and the predicates answer allowed or a reason without any store."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from poolkit.model.customer import Customer, CustomerStatus
from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import Rep
from poolkit.service import rights
from poolkit.service.lookalikes import merged_ownership
from poolkit.service.rights import RIGHTS, Verdict

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def table_rows() -> dict[str, str]:
    """Operation -> "who" cell of the table under "## Who may do what"."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].startswith("`"):
            continue
        for operation in re.findall(r"`(\w+)`", cells[0]):
            rows[operation] = cells[3]
    return rows


def test_the_rights_table_in_the_docs_is_the_rights_module() -> None:
    rows = table_rows()
    assert rows.pop("sweep") == "the system"  # no one's right: the system's
    assert sorted(rows) == sorted(RIGHTS)
    for operation, who in rows.items():
        assert RIGHTS[operation].who == who, operation


def test_every_right_is_a_public_predicate_of_the_module() -> None:
    predicates = {
        name: value
        for name, value in vars(rights).items()
        if name.startswith("may_") and inspect.isfunction(value)
    }
    used = {right.predicate for right in RIGHTS.values()}
    assert used <= set(predicates.values())
    # Every predicate is a row of the table, except who may see a customer and its keys
    # (queries, not operations).
    unused = {name for name, value in predicates.items() if value not in used}
    assert unused == {"may_see", "may_see_keys", "may_assign_to"}
    assert set(predicates) <= set(rights.__all__)


class Team:
    """A TeamView: boss above li and wang; the pool "main" managed by "mgr"."""

    def __init__(self) -> None:
        self.supervisors = {"li": "boss", "wang": "boss", "boss": None}
        self.pools = {"main": Pool(id="main", managers={"mgr"}, members={"li", "wang"})}

    def is_above(self, boss_id: str, rep_id: str) -> bool:
        current = self.supervisors.get(rep_id)
        while current is not None:
            if current == boss_id:
                return True
            current = self.supervisors.get(current)
        return False

    def find_pool(self, pool_id: str) -> Pool | None:
        return self.pools.get(pool_id)


def private_of(owner: str) -> Customer:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    return Customer(
        id="c1",
        name="Acme",
        pool_id="main",
        created_at=at,
        status=CustomerStatus.PRIVATE,
        owner_id=owner,
        owned_since=at,
    )


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (Rep(id="admin", is_admin=True), True),
        (Rep(id="mgr"), True),
        (Rep(id="boss"), True),
        (Rep(id="li"), False),  # the owner does not oversee their own customer
        (Rep(id="wang"), False),
    ],
)
def test_the_overseers_right_is_written_once_for_recycle_freeze_and_lock(
    actor: Rep, allowed: bool
) -> None:
    customer = private_of("li")
    team = Team()
    assert rights.oversees(team, actor, customer) is allowed
    for predicate in (rights.may_recycle, rights.may_freeze, rights.may_lock):
        verdict = predicate(team, actor, customer)
        assert verdict.allowed is allowed
        assert (verdict.reason == "") is allowed


def test_a_refusal_carries_its_reason() -> None:
    team, customer = Team(), private_of("li")
    assert rights.may_edit(team, Rep(id="li"), customer) == Verdict(True)
    refused = rights.may_transfer(Rep(id="wang"), customer)
    assert not refused and refused.reason == "only the owner transfers a customer"
    pool = Pool(id="north", mode=PoolMode.MANAGER_ASSIGNS, members={"li"})
    assert rights.may_claim(Rep(id="li"), pool).reason == (
        "pool 'north' is assign-only: ask its manager"
    )
    assert rights.may_claim(Rep(id="wang"), pool).reason == "not a member of pool 'north'"
    assert rights.may_reassign(team, Rep(id="boss"), customer, Rep(id="wang"))
    assert not rights.may_reassign(team, Rep(id="wang"), customer, Rep(id="wang"))
    assert not rights.may_depart(Rep(id="admin", is_admin=True), Rep(id="admin", is_admin=True))
    assert rights.may_see(team, Rep(id="boss"), customer)
    assert not rights.may_see(team, Rep(id="wang"), customer)


def test_the_ownership_rule_of_a_merge_is_a_pure_function() -> None:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    later = datetime(2026, 3, 9, tzinfo=UTC)
    public = Customer(
        id="keep", name="Acme", pool_id="main", created_at=at, related_reps={"zhao": at}
    )
    private = private_of("li")
    # A public kept customer takes the absorbed one's owner, who stops being related.
    taken = merged_ownership(public, private, later)
    assert (taken.owner_id, taken.owned_since) == ("li", at)
    assert dict(taken.related_reps) == {"zhao": at}
    # A private kept customer keeps its owner; the other owner becomes related from now.
    kept = merged_ownership(private_of("wang"), private, later)
    assert kept.owner_id == "wang" and dict(kept.related_reps) == {"li": later}
