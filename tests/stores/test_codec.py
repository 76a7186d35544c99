"""The codec: every value poolkit stores survives encode -> JSON -> decode unchanged."""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from poolkit.errors import DamagedRecordError, InvalidValueError, NaiveDatetimeError
from poolkit.model.customer import Customer, CustomerStatus, IdentityKey
from poolkit.model.events import EVENT_TYPES, Claimed, Event, FollowedUp, FollowUpKind
from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import Rep
from poolkit.model.schedule import Schedule
from poolkit.service import SweepItem, SweepReport
from poolkit.stores._codec import (
    decode,
    decode_customer,
    decode_datetime,
    decode_event,
    encode,
    encode_changed,
    encode_customer,
    encode_datetime,
    encode_event,
    to_plain,
)
from poolkit.stores.sql.converters import read_document
from poolkit.testing import strategies as shipped

NEW_YORK = ZoneInfo("America/New_York")
ZONES = [
    ZoneInfo("Asia/Shanghai"),
    NEW_YORK,
    ZoneInfo("Europe/London"),
    ZoneInfo("Australia/Lord_Howe"),  # a half-hour DST shift
    ZoneInfo("UTC"),
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(-timedelta(hours=3), "BRT"),
]

# Local strategies, deliberately plain: the public ones live in poolkit.testing.strategies.
ids = (
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1)
    .map(str.strip)
    .filter(bool)
)
instants = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.sampled_from(ZONES)
)
attribute_values = st.one_of(
    st.text(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
identity_keys = st.builds(IdentityKey, ids, ids)


def for_type(kind: Any) -> st.SearchStrategy[Any]:
    """A strategy for a field's declared type, valid for every event class's validators."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Union or origin is type(int | None):
        if type(None) in args:
            (arm,) = (arm for arm in args if arm is not type(None))
            return st.none() | for_type(arm)
        return attribute_values
    if origin is frozenset:
        return st.frozensets(for_type(args[0]), max_size=4)
    if origin is Mapping:
        return st.dictionaries(ids, for_type(args[1]), max_size=4)
    table: dict[Any, st.SearchStrategy[Any]] = {
        str: ids,
        int: st.integers(min_value=1, max_value=10**9),
        bool: st.booleans(),
        datetime: instants,
        IdentityKey: identity_keys,
        FollowUpKind: st.sampled_from(FollowUpKind),
    }
    return table[kind]


@st.composite
def events(draw: st.DrawFn) -> Event:
    cls = draw(st.sampled_from(sorted(EVENT_TYPES.values(), key=lambda c: c.kind)))
    hints = typing.get_type_hints(cls)
    values = {field.alias: draw(for_type(hints[field.name])) for field in attrs.fields(cls)}
    return cls(**values)


@st.composite
def customers(draw: st.DrawFn) -> Customer:
    status = draw(st.sampled_from(CustomerStatus))
    owned = status is CustomerStatus.PRIVATE
    optional_instant = st.none() | instants
    return Customer(
        id=draw(ids),
        name=draw(ids),
        pool_id=draw(ids),
        created_at=draw(instants),
        status=status,
        owner_id=draw(ids) if owned else None,
        owned_since=draw(instants) if owned else None,
        keys=draw(st.frozensets(identity_keys, max_size=4)),
        grade=draw(st.none() | ids),
        tags=draw(st.frozensets(ids, max_size=4)),
        attributes=draw(st.dictionaries(ids, attribute_values, max_size=4)),
        related_reps=draw(st.dictionaries(ids, instants, max_size=3)),
        creator_id=draw(st.none() | ids),
        public_since=draw(optional_instant),
        last_follow_up_at=draw(optional_instant),
        last_deal_at=draw(optional_instant),
        locked=draw(st.booleans()),
        warned_due_at=draw(optional_instant),
        version=draw(st.integers(min_value=0, max_value=10**6)),
    )


reps = st.builds(
    Rep,
    id=ids,
    name=st.text(),
    supervisor_id=st.none(),
    is_admin=st.booleans(),
    active=st.booleans(),
    cap=st.none() | st.integers(min_value=0, max_value=1000),
    claim_limit=st.none() | st.integers(min_value=0, max_value=1000),
)
pools = st.builds(
    Pool,
    id=ids,
    name=st.text(),
    mode=st.sampled_from(PoolMode),
    managers=st.frozensets(ids, max_size=3),
    members=st.frozensets(ids, max_size=3),
    is_default=st.booleans(),
)
schedules = st.builds(Schedule, drop_at=st.none() | instants, warn_at=st.none() | instants)


def through_json(kind: Any, value: Any) -> Any:
    """encode, write as JSON text, read back, decode: what a store does."""
    return decode(kind, json.loads(json.dumps(encode(value))))


@given(customers())
def test_customers_round_trip(customer: Customer) -> None:
    assert through_json(Customer, customer) == customer


@given(customers(), customers(), st.sets(st.sampled_from([f.name for f in attrs.fields(Customer)])))
def test_encode_changed_writes_what_encode_writes(
    first: Customer, other: Customer, names: set[str]
) -> None:
    """A change of a decoded customer, written with the fields it kept taken from the
    document it was decoded from, is the document ``encode`` writes."""
    document = json.loads(json.dumps(encode(first)))
    before = decode(Customer, document)
    try:
        value = attrs.evolve(before, **{name: getattr(other, name) for name in names})
    except InvalidValueError:
        assume(False)
    assert encode_changed(value, before, document) == encode(value)
    # A field missing from the document (written before it existed) is written.
    del document["external_id"]
    assert encode_changed(value, before, document) == encode(value)


@given(events())
def test_events_round_trip_to_their_own_class(event: Event) -> None:
    back = through_json(Event, event)
    assert type(back) is type(event)
    assert back == event
    assert through_json(type(event), event) == event


@given(reps)
def test_reps_round_trip(rep: Rep) -> None:
    assert through_json(Rep, rep) == rep


@given(pools)
def test_pools_round_trip(pool: Pool) -> None:
    assert through_json(Pool, pool) == pool


@given(schedules)
def test_schedules_round_trip(schedule: Schedule) -> None:
    assert through_json(Schedule, schedule) == schedule


@given(instants)
def test_datetimes_keep_their_wall_time_zone_and_instant(at: datetime) -> None:
    back = decode_datetime(encode_datetime(at))
    assert back == at
    assert back.utcoffset() == at.utcoffset()
    assert (back.year, back.month, back.day, back.hour, back.minute) == (
        at.year,
        at.month,
        at.day,
        at.hour,
        at.minute,
    )
    if isinstance(at.tzinfo, ZoneInfo):
        assert back.tzinfo is at.tzinfo


def test_the_encoding_is_plain_json_with_readable_values() -> None:
    at = datetime(2026, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    customer = Customer(
        id="c1",
        name="Acme",
        pool_id="north",
        created_at=at,
        status="private",
        owner_id="alice",
        owned_since=at,
        keys={"uscc": "91X", "phone": "+86138"},
        tags={"vip", "fair"},
    )
    data = encode(customer)
    assert data["created_at"] == "2026-03-01T10:00:00+08:00[Asia/Shanghai]"
    assert data["status"] == "private"
    assert data["keys"] == [["phone", "+86138"], ["uscc", "91X"]]
    assert data["tags"] == ["fair", "vip"]
    assert data["attributes"] == {} and data["related_reps"] == {}
    claim = Claimed(customer_id="c1", seq=2, at=at, actor_id="alice", rep_id="alice", pool_id="n")
    assert encode(claim)["kind"] == "claimed"
    assert encode(Schedule(at.astimezone(UTC))) == {
        "drop_at": "2026-03-01T02:00:00+00:00",
        "warn_at": None,
    }


def test_a_time_in_the_autumn_fold_keeps_its_fold() -> None:
    # 01:30 happens twice in New York on 2026-11-01; the second one is fold=1 (EST).
    second = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)
    text = encode_datetime(second)
    assert text == "2026-11-01T01:30:00-05:00[America/New_York]"
    back = decode_datetime(text)
    assert back.fold == 1 and back == second
    # Without the zone key a fold time compares unequal across zones: that is why the key is kept.
    assert datetime.fromisoformat("2026-11-01T01:30:00-05:00") != second


def test_an_offset_the_zone_no_longer_has_keeps_the_instant() -> None:
    # As if tzdata changed after writing: +09:00 was never Shanghai's offset in 2026.
    back = decode_datetime("2026-03-01T10:00:00+09:00[Asia/Shanghai]")
    assert back == datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    assert back.tzinfo is ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        (Rep, {"id": "a", "nickname": "x"}, "nickname"),
        (Rep, {"id": "a", "cap": "10"}, "cap"),
        (Rep, {"id": "a", "is_admin": 1}, "is_admin"),
        (Rep, {"id": "a", "cap": True}, "cap"),
        (Pool, {"id": "p", "mode": "lottery"}, "mode"),
        (Pool, {"id": "p", "members": "alice"}, "members"),
        (Schedule, {"drop_at": "tomorrow"}, "drop_at"),
        (Event, {"kind": "teleported", "customer_id": "c"}, "kind"),
        (FollowedUp, {"kind": "claimed"}, "kind"),
        (Customer, {"id": "c1"}, "Customer"),
        (Customer, {"keys": [["phone"]]}, "keys"),
        (Customer, {"attributes": []}, "attributes"),
    ],
)
def test_malformed_documents_are_refused_naming_the_field(
    kind: Any, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidValueError) as refused:
        decode(kind, data)
    assert refused.value.field == field


def test_naive_and_unknown_zone_datetimes_are_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        decode_datetime("2026-03-01T10:00:00")
    with pytest.raises(NaiveDatetimeError):
        encode_datetime(datetime(2026, 3, 1))
    with pytest.raises(InvalidValueError, match="unknown time zone"):
        decode_datetime("2026-03-01T10:00:00+08:00[Mars/Olympus]")


def test_a_float_attribute_written_as_an_integer_stays_an_integer() -> None:
    # JSON has one number type; the codec keeps what JSON keeps: 3 stays 3, 3.0 stays 3.0.
    at = datetime(2026, 3, 1, tzinfo=UTC)
    customer = Customer(id="c", name="n", pool_id="p", created_at=at, attributes={"a": 3, "b": 3.0})
    back = through_json(Customer, customer)
    assert type(back.attributes["a"]) is int and type(back.attributes["b"]) is float


def test_named_helpers_match_encode_and_decode() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    customer = Customer(id="c", name="n", pool_id="p", created_at=at)
    event = FollowedUp(customer_id="c", seq=2, at=at, actor_id="a", method="visit")
    assert encode_customer(customer) == encode(customer)
    assert decode_customer(encode_customer(customer)) == customer
    assert encode_event(event) == encode(event)
    assert decode_event(encode_event(event)) == event


def test_to_plain_gives_json_for_people_and_scripts() -> None:
    at = datetime(2026, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    item = SweepItem("c1", "alice", "stale-15", "drop.no_follow_up", at, "dropped")
    report = SweepReport(at, (item,), (), 0)
    plain = to_plain(report)
    assert json.loads(json.dumps(plain)) == plain
    assert plain["at"] == "2026-03-01T10:00:00+08:00"
    assert plain["dropped"][0]["due_at"] == "2026-03-01T10:00:00+08:00"
    assert plain["warned"] == []
    event = Claimed(customer_id="c1", seq=2, at=at, actor_id="bob", rep_id="bob", pool_id="n")
    assert to_plain(event)["kind"] == "claimed"
    customer = Customer(
        id="c1", name="n", pool_id="p", created_at=at, keys={"phone": "1"}, tags={"b", "a"}
    )
    assert to_plain(customer)["keys"] == [["phone", "1"]]
    assert to_plain(customer)["tags"] == ["a", "b"]
    assert to_plain(customer)["status"] == "public"


# The shipped strategies (poolkit.testing.strategies), as users' own tests draw values: they
# survive the store's write and read, through the standard library's JSON (orjson's is
# checked in test_documents, when the extra is installed).


@given(shipped.customers())
def test_the_shipped_customers_round_trip(customer: Customer) -> None:
    assert through_json(Customer, customer) == customer


@pytest.mark.parametrize("kind", list(EVENT_TYPES.values()), ids=list(EVENT_TYPES))
@given(data=st.data())
def test_every_kind_of_shipped_event_round_trips(kind: type[Event], data: st.DataObject) -> None:
    event = data.draw(shipped.events(kinds=[kind]))
    back = through_json(Event, event)
    assert back == event and type(back) is kind


def test_a_wall_time_in_the_spring_gap_comes_back_as_it_was() -> None:
    # 02:30 never happens in New York on 2026-03-08; a value may still hold it (fold 0:
    # the offset before the change), and the codec gives it back, not 03:30.
    gap = datetime(2026, 3, 8, 2, 30, tzinfo=NEW_YORK)
    text = encode_datetime(gap)
    assert text == "2026-03-08T02:30:00-05:00[America/New_York]"
    back = decode_datetime(text)
    assert (back.hour, back.minute, back.fold, back.utcoffset()) == (2, 30, 0, gap.utcoffset())
    assert back == gap


AT = datetime(2026, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STORED_CUSTOMER = encode(
    Customer(
        id="c1",
        name="深圳华强",
        pool_id="north",
        created_at=AT,
        status="private",
        owner_id="alice",
        owned_since=AT,
        keys={"phone": "+86138"},
        tags={"vip"},
        attributes={"staff": 12, "tier": "gold"},
        related_reps={"bob": AT},
        last_follow_up_at=AT,
        last_follow_up_by_kind={"call": AT},
    )
)
STORED_EVENT = encode(
    FollowedUp(customer_id="c1", seq=2, at=AT, actor_id="alice", method="visit", note="met")
)


@pytest.mark.parametrize(
    ("stored", "kind", "field", "tampered", "named"),
    [
        (STORED_CUSTOMER, Customer, "id", " c1", "id"),
        (STORED_CUSTOMER, Customer, "id", 7, "id"),
        (STORED_CUSTOMER, Customer, "name", "", "name"),
        (STORED_CUSTOMER, Customer, "name", ["深圳华强"], "name"),
        (STORED_CUSTOMER, Customer, "owner_id", "alice ", "owner_id"),
        (STORED_CUSTOMER, Customer, "owner_id", None, "owner_id"),  # private needs an owner
        (STORED_CUSTOMER, Customer, "created_at", "2026-03-01T10:00:00", "created_at"),
        (
            STORED_CUSTOMER,
            Customer,
            "created_at",
            "2026-03-01T10:00:00[Asia/Shanghai]",
            "created_at",
        ),
        (
            STORED_CUSTOMER,
            Customer,
            "created_at",
            "2026-03-01T10:00:00+08:00[Mars/Olympus]",
            "created_at",
        ),
        (STORED_CUSTOMER, Customer, "status", "lost", "status"),
        (STORED_CUSTOMER, Customer, "status", ["private"], "status"),
        (STORED_CUSTOMER, Customer, "keys", [["phone", " +86138"]], "value"),
        (STORED_CUSTOMER, Customer, "tags", ["  "], "tags"),
        (STORED_CUSTOMER, Customer, "attributes", {"staff": {"n": 12}}, "attributes.staff"),
        (STORED_CUSTOMER, Customer, "attributes", {"staff": 2**63}, "attributes.staff"),
        (STORED_CUSTOMER, Customer, "attributes", {"": 1}, "attributes"),
        (STORED_CUSTOMER, Customer, "related_reps", {"bob": "yesterday"}, "related_reps.bob"),
        (
            STORED_CUSTOMER,
            Customer,
            "last_follow_up_by_kind",
            {"fax": "2026-03-01T10:00:00+08:00"},
            "last_follow_up_by_kind",
        ),
        (STORED_CUSTOMER, Customer, "locked", "no", "locked"),
        (STORED_CUSTOMER, Customer, "version", -1, "version"),
        (STORED_CUSTOMER, Customer, "version", True, "version"),
        (STORED_EVENT, Event, "customer_id", "", "customer_id"),
        (STORED_EVENT, Event, "seq", 0, "seq"),
        (STORED_EVENT, Event, "at", "2026-03-01", "at"),
        (STORED_EVENT, Event, "method", "fax", "method"),
        (STORED_EVENT, Event, "note", 3, "note"),
        (STORED_EVENT, Event, "kind", "claimed", "method"),  # a claim has no method
    ],
)
def test_a_tampered_document_is_refused_naming_the_field(
    stored: dict[str, Any], kind: Any, field: str, tampered: Any, named: str
) -> None:
    document = {**stored, field: tampered}
    with pytest.raises(InvalidValueError) as refused:
        decode(kind, document)
    assert refused.value.field == named
    # Through a store's read of the text: one typed error naming the record.
    with pytest.raises(DamagedRecordError) as damaged:
        read_document(kind, json.dumps(document), kind.__name__.lower(), "c1")
    assert damaged.value.record_id == "c1"


def test_a_document_left_as_written_reads_back() -> None:
    # The documents the tampering test starts from are themselves sound.
    assert encode(decode(Customer, STORED_CUSTOMER)) == STORED_CUSTOMER
    assert encode(decode(Event, STORED_EVENT)) == STORED_EVENT


def test_a_whole_document_with_a_field_swapped_for_an_unknown_one_is_refused() -> None:
    # As many names as the class has fields, but not its fields: the unknown one is named.
    document = {**STORED_CUSTOMER, "nickname": "x"}
    del document["grade"]
    with pytest.raises(InvalidValueError) as refused:
        decode(Customer, document)
    assert refused.value.field == "nickname"


def test_of_two_tampered_fields_the_first_in_the_document_is_named() -> None:
    # The document's order, as the general reading finds them (not the class's order).
    document = {**STORED_CUSTOMER, "version": "one", "created_at": "soon"}
    document = {"version": document.pop("version"), **document}
    with pytest.raises(InvalidValueError) as refused:
        decode(Customer, document)
    assert refused.value.field == "version"
