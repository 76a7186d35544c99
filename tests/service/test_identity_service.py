"""Identity through the service: collisions that formatting cannot fool, look-alike names
on the review list, merges, and the import report. Run on both shipped stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from poolkit import CustomerStatus, ManualClock, MemoryStore, Policy, PoolService, Team
from poolkit.errors import (
    CollisionError,
    InvalidKeyError,
    InvalidValueError,
    PermissionDenied,
    WrongStateError,
)
from poolkit.events import replay
from poolkit.importer import ImportRow, Outcome
from poolkit.model.events import Merged, MergedInto
from poolkit.model.review import ReviewStatus
from poolkit.ports import Store
from poolkit.stores.sqlite import SqliteStore
from poolkit.testing.builders import T0

POLICY: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "drop_rules": [{"name": "stale-15", "kind": "no_follow_up", "days": 15}],
    "caps": {"default": 100},
}
TEAM: dict[str, Any] = {
    "reps": [
        {"id": "admin", "admin": True},
        {"id": "boss"},
        {"id": "a", "supervisor": "boss"},
        {"id": "b", "supervisor": "boss"},
    ],
    "pools": [{"id": "main", "default": True, "members": ["a", "b"], "managers": ["boss"]}],
}
PHONE = "+8613800138000"
ONE_PHONE_MANY_WAYS = [
    "13800138000",
    "138 0013 8000",
    "+86 138 0013 8000",
    "008613800138000",
    "+86-138-0013-8000",
    "(+86) 138-0013-8000",
    "１３８００１３８０００",
]


@pytest.fixture(params=["memory", "sqlite"])
def identity_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        with SqliteStore(tmp_path / "identity.db") as store:
            yield store


@pytest.fixture
def service(identity_store: Store, clock: ManualClock) -> PoolService:
    service = PoolService(identity_store, Policy.from_dict(POLICY), clock)
    service.setup(Team.from_dict(TEAM))
    return service


Unchanged = Callable[[Store], AbstractContextManager[None]]


@pytest.mark.parametrize("written", ONE_PHONE_MANY_WAYS)
def test_one_phone_however_written_collides_and_names_the_owner(
    service: PoolService, written: str, unchanged: Unchanged
) -> None:
    first = service.create("a", "Acme", keys={"phone": PHONE})
    with unchanged(service.store), pytest.raises(CollisionError) as refused:
        service.create("b", "Acme Trading", keys={"phone": written})
    assert refused.value.customer_id == first.id
    assert refused.value.owner_id == "a"
    assert refused.value.key_value == PHONE
    assert "colleague a is already following this customer" in str(refused.value)


def test_keys_are_stored_normalised(service: PoolService) -> None:
    customer = service.create(
        "a",
        "Acme",
        keys=[("phone", "138 0013 8000"), ("email", " Sales@Example.COM "), ("crm_no", "X-1")],
    )
    assert customer.keys_of("phone") == {PHONE}
    assert customer.keys_of("email") == {"sales@example.com"}
    # Kinds poolkit does not know are kept as given.
    assert customer.keys_of("crm_no") == {"X-1"}


def test_a_customer_with_several_phones_collides_on_any(service: PoolService) -> None:
    shop = service.create(
        "a", "Zhang's Hardware", keys=[("phone", PHONE), ("phone", "+86 139 0013 9000")]
    )
    for phone in ("13800138000", "139-0013-9000"):
        with pytest.raises(CollisionError) as refused:
            service.create("b", "Another shop", keys={"phone": phone})
        assert refused.value.customer_id == shop.id


def test_a_malformed_phone_is_refused_naming_the_input(
    service: PoolService, unchanged: Unchanged
) -> None:
    with unchanged(service.store), pytest.raises(InvalidKeyError) as refused:
        service.create("a", "Acme", keys={"phone": "138 0013 800"})
    assert refused.value.value == "138 0013 800"
    assert "138 0013 800" in str(refused.value)


def test_a_credit_code_with_a_wrong_check_digit_is_refused(
    service: PoolService, unchanged: Unchanged
) -> None:
    good = "91350100M000100Y43"
    service.create("a", "Valid Co", keys={"uscc": good})
    with unchanged(service.store), pytest.raises(InvalidKeyError):
        service.create("b", "Typo Co", keys={"uscc": good[:-1] + "4"})


def test_a_collision_in_a_public_pool_or_the_recycle_bin_says_where(
    service: PoolService,
) -> None:
    public = service.create("admin", "Acme", keys={"phone": PHONE}, public=True)
    with pytest.raises(CollisionError) as refused:
        service.create("b", "Acme", keys={"phone": "138 0013 8000"})
    assert refused.value.owner_id is None and refused.value.pool_id == "main"
    assert "claim it from there" in str(refused.value)
    service.freeze("admin", public.id)
    with pytest.raises(CollisionError) as refused:
        service.create("b", "Acme", keys={"phone": "138 0013 8000"})
    assert refused.value.in_recycle_bin


def test_editing_keys_collides_like_creating(service: PoolService, unchanged: Unchanged) -> None:
    service.create("a", "Acme", keys={"phone": PHONE})
    other = service.create("b", "Beta", keys={"phone": "+8613900139000"})
    with unchanged(service.store), pytest.raises(CollisionError):
        service.edit("b", other.id, keys={"phone": "138-0013-8000"})
    edited = service.edit("b", other.id, keys={"phone": "139 0013 9000", "email": "B@beta.cn"})
    assert edited.keys_of("email") == {"b@beta.cn"}


def test_the_same_company_written_two_ways_is_filed_for_review_not_refused(
    service: PoolService,
) -> None:
    first = service.create("a", "深圳市某某科技有限公司", keys={"phone": PHONE})
    result = service.create_with_warnings("b", "某某科技（深圳）有限公司")
    assert result.customer.owner_id == "b"
    assert [(m.customer_id, m.score) for m in result.similar] == [(first.id, 100.0)]
    (item,) = service.reviews()
    assert (item.customer_id, item.similar_id, item.status) == (
        result.customer.id,
        first.id,
        ReviewStatus.OPEN,
    )
    # A translation cannot be matched by normalisation: no warning, no refusal.
    assert service.create_with_warnings("b", "Moumou Technology Co., Ltd.").similar == ()


def test_unrelated_names_raise_no_warning(service: PoolService) -> None:
    service.create("a", "Hangzhou Textiles Co.")
    assert service.create_with_warnings("b", "Ningbo Ceramics Ltd.").similar == ()
    assert service.reviews() == []


def test_warnings_can_be_switched_off(identity_store: Store, clock: ManualClock) -> None:
    service = PoolService(
        identity_store, Policy.from_dict({**POLICY, "similarity": {"enabled": False}}), clock
    )
    service.setup(Team.from_dict(TEAM))
    service.create("a", "深圳市某某科技有限公司")
    assert service.create_with_warnings("b", "某某科技（深圳）有限公司").similar == ()


def test_an_admin_marks_a_pair_not_the_same(service: PoolService) -> None:
    service.create("a", "Golden Dragon Trading")
    service.create("b", "Golden Dragon Trading Co.")
    (item,) = service.reviews()
    with pytest.raises(PermissionDenied):
        service.mark_not_same("a", item.id)
    resolved = service.mark_not_same("admin", item.id)
    assert resolved.status is ReviewStatus.NOT_SAME and resolved.resolved_by == "admin"
    assert service.reviews() == []
    assert service.reviews(status=None) == [resolved]
    with pytest.raises(InvalidValueError):
        service.mark_not_same("admin", item.id)


def test_one_shop_under_several_phones_is_merged_into_one(
    service: PoolService, clock: ManualClock
) -> None:
    # The source articles' case: a rep registers one shop under a second phone to farm a
    # new-customer bonus. The phones differ, so it is no collision; the name gives it away.
    original = service.create("a", "张记五金店", keys={"phone": PHONE})
    clock.advance(days=1)
    service.follow_up("a", original.id, "visit", "met the owner")
    clock.advance(days=1)
    farmed = service.create_with_warnings("b", "张记五金", keys={"phone": "+86 139 0013 9000"})
    assert [m.customer_id for m in farmed.similar] == [original.id]
    clock.advance(hours=3)
    service.follow_up("b", farmed.customer.id, "call")

    with pytest.raises(PermissionDenied):
        service.merge("boss", original.id, farmed.customer.id)
    merged = service.merge("admin", original.id, farmed.customer.id)

    # The kept customer's owner keeps it; the other owner becomes a related rep.
    assert merged.owner_id == "a" and "b" in merged.related_reps
    assert merged.keys_of("phone") == {PHONE, "+8613900139000"}
    assert merged.last_follow_up_at == clock.now()
    with pytest.raises(CollisionError):
        service.create("b", "Zhang hardware again", keys={"phone": "139 0013 9000"})
    assert service.private_pool("b") == []
    assert service.reviews() == []
    assert service.reviews(status=ReviewStatus.MERGED)[0].resolved_by == "admin"

    history = service.merged_history(original.id)
    assert [event.at for event in history] == sorted(event.at for event in history)
    assert {event.customer_id for event in history} == {original.id, farmed.customer.id}
    assert isinstance(service.history(farmed.customer.id)[-1], MergedInto)
    assert isinstance(service.history(original.id)[-1], Merged)
    assert replay(service.history(original.id)) == service.customer(original.id)
    assert replay(service.history(farmed.customer.id)) is None


def test_a_merge_into_a_public_customer_keeps_the_working_rep(service: PoolService) -> None:
    public = service.create("admin", "Blue Sky Logistics", public=True)
    private = service.create("b", "Blue Sky Logistics Co.")
    merged = service.merge("admin", public.id, private.id)
    assert merged.status is CustomerStatus.PRIVATE and merged.owner_id == "b"
    assert merged.owned_since == private.owned_since
    assert [c.id for c in service.private_pool("b")] == [public.id]


def test_frozen_customers_are_not_merged(service: PoolService, unchanged: Unchanged) -> None:
    keep = service.create("a", "Red Star Foods")
    frozen = service.create("admin", "Red Star Foods Co.", public=True)
    service.freeze("admin", frozen.id)
    with unchanged(service.store), pytest.raises(WrongStateError):
        service.merge("admin", keep.id, frozen.id)
    with pytest.raises(InvalidValueError):
        service.merge("admin", keep.id, keep.id)


def test_the_import_report_says_what_became_of_every_row(service: PoolService) -> None:
    owned = service.create("a", "Existing Co", keys={"phone": PHONE})
    rows = [
        ImportRow(row=2, name="Fresh Co", keys=(("phone", "+86 139 0013 9000"),)),
        ImportRow(row=3, name="Clash Co", keys=(("phone", "138-0013-8000"),)),
        ImportRow(row=4, name="Fresh Again", keys=(("phone", "13900139000"),)),
        ImportRow(row=5, name="Broken Co", keys=(("phone", "12345"),)),
        ImportRow(row=6, name="", keys=()),
        ImportRow(row=7, name="Existing Co Ltd", keys=(("phone", "+8613700137000"),)),
    ]
    report = service.import_customers("admin", rows, batch_size=2)
    outcomes = {result.row: result for result in report.rows}
    assert outcomes[2].outcome is Outcome.CREATED
    assert outcomes[3].outcome is Outcome.COLLISION
    assert (outcomes[3].other_customer_id, outcomes[3].other_owner_id) == (owned.id, "a")
    assert outcomes[4].outcome is Outcome.DUPLICATE and outcomes[4].duplicate_of_row == 2
    assert outcomes[5].outcome is Outcome.INVALID and "12345" in outcomes[5].message
    assert outcomes[6].outcome is Outcome.INVALID
    assert outcomes[7].outcome is Outcome.CREATED and outcomes[7].similar_ids == (owned.id,)
    assert report.summary() == (
        "6 rows: 2 created, 1 collision, 1 duplicate, 2 invalid, 1 look-alike filed for review"
    )
    # Nothing half-imported: exactly the created rows exist, each with its creation event.
    with service.store.unit_of_work() as uow:
        assert uow.customers.count() == 3
        for result in report.rows:
            if result.outcome is Outcome.CREATED:
                assert result.customer_id is not None
                assert len(uow.events.history(result.customer_id)) == 1


def test_renaming_a_customer_is_checked_for_look_alikes(service: PoolService) -> None:
    original = service.create("a", "Silver Lake Furniture")
    disguised = service.create("b", "Quiet Shop")
    assert service.reviews() == []
    service.edit("b", disguised.id, name="Silver Lake Furniture Co.")
    (item,) = service.reviews()
    assert (item.customer_id, item.similar_id) == (disguised.id, original.id)


def test_deleting_a_customer_closes_its_open_review_items(service: PoolService) -> None:
    service.create("a", "Harbour Fisheries")
    twin = service.create("b", "Harbour Fisheries Ltd.")
    service.delete("admin", twin.id)
    assert service.reviews() == []
    (item,) = service.reviews(status=ReviewStatus.CLOSED)
    assert item.resolved_by == "admin"


def test_a_merge_moves_open_items_to_the_kept_customer_once(service: PoolService) -> None:
    keep = service.create("a", "Golden Gate Imports")
    absorb = service.create("b", "Golden Gate Imports Co.")
    third = service.create("admin", "Golden Gate Imports Ltd.", public=True)
    # Three look-alikes: the third was filed against both of the others.
    assert len(service.reviews()) == 3
    service.merge("admin", keep.id, absorb.id)
    (left,) = service.reviews()
    assert {left.customer_id, left.similar_id} == {keep.id, third.id}
    statuses = sorted(item.status.value for item in service.reviews(status=None))
    assert statuses == ["closed", "merged", "open"]


def test_a_rep_cannot_probe_review_ids(service: PoolService) -> None:
    with pytest.raises(PermissionDenied):
        service.mark_not_same("a", "no-such-review")


def test_a_name_in_traditional_characters_is_filed_against_its_simplified_twin(
    service: PoolService,
) -> None:
    pytest.importorskip("opencc")
    simplified = service.create("a", "台湾国际贸易股份有限公司")
    result = service.create_with_warnings("b", "臺灣國際貿易股份有限公司")
    assert [(m.customer_id, m.score) for m in result.similar] == [(simplified.id, 100.0)]


def test_names_that_differ_in_a_number_or_a_place_file_nothing(service: PoolService) -> None:
    # Issue 12: a book of "Company N" names filed every pair; different numbers and
    # different branches are different companies, however alike the names read.
    service.create("a", "Company 12 贸易有限公司")
    service.create("a", "华远贸易有限公司北京分公司")
    assert service.create_with_warnings("a", "Company 13 贸易有限公司").similar == ()
    assert service.create_with_warnings("a", "华远贸易有限公司上海分公司").similar == ()
    assert service.reviews() == []


def test_names_registered_apart_file_only_the_same_trade_name(service: PoolService) -> None:
    # The random book's review list paired 南京市广天南... with 杭州市广北南...: one
    # character apart once the cities are dropped, and two companies.
    nanjing = service.create("a", "南京市广天南供应链管理有限责任公司", public=True)
    hangzhou = service.create_with_warnings("a", "杭州市广北南供应链管理有限公司")
    assert hangzhou.similar == ()
    # The same trade name in another city, a typo in the same city, a province and one of
    # its cities: each may be the same company.
    maybe = {}
    for name in (
        "杭州市广天南供应链管理有限公司",
        "南京市广北南供应链管理",
        "江苏省广北南供应链管理",
    ):
        created = service.create_with_warnings("a", name, public=True)
        assert nanjing.id in {match.customer_id for match in created.similar}, name
        maybe[name] = created.customer.id
    # An import batch reads its candidates' names from its lists: the same rule, between
    # its rows too.
    report = service.import_customers(
        "admin",
        [
            ImportRow(row=2, name="杭州市广木南供应链管理有限公司"),
            ImportRow(row=3, name="南京市广木南供应链管理"),
        ],
    )
    first, second = report.rows
    # (a typo away from each Hangzhou name: the same city)
    assert set(first.similar_ids) == {maybe["杭州市广天南供应链管理有限公司"], hangzhou.customer.id}
    assert set(second.similar_ids) == {
        nanjing.id,
        maybe["南京市广北南供应链管理"],
        maybe["江苏省广北南供应链管理"],
        first.customer_id,  # the same trade name, in another city
    }


def test_one_customer_files_at_most_max_per_customer_items(identity_store: Store) -> None:
    clock = ManualClock(T0)
    policy = Policy.from_dict({**POLICY, "similarity": {"max_per_customer": 2}})
    service = PoolService(identity_store, policy, clock)
    service.setup(Team.from_dict(TEAM))
    for suffix in ("Ltd", "Limited", "Co", "Company"):
        service.create("a", f"Acme Trading {suffix}", public=True)
    created = service.create_with_warnings("a", "Acme Trading", public=True)
    assert len(created.similar) == 2
    filed = service.reviews(customer_id=created.customer.id)
    assert sorted(item.similar_id for item in filed) == sorted(
        match.customer_id for match in created.similar
    )
