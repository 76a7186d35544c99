"""Customers, events, reps, pools, schedules and review items as JSON-ready dicts, and back.

Stores that keep documents (SQLite's body columns, a message queue, an export) use this
codec so that ``decode(kind, encode(value)) == value`` holds for every value poolkit makes.

The mapping, driven by each attrs class's fields and their declared types:

- datetimes: ISO 8601 with the UTC offset, ``2026-03-01T10:00:00+08:00``. When the zone is a
  :class:`zoneinfo.ZoneInfo`, its key follows in brackets (RFC 9557 style,
  ``2026-03-01T10:00:00+08:00[Asia/Shanghai]``) and decoding restores that zone, so an
  ambiguous wall time in a DST fold keeps its fold and compares equal to the original.
- enums: their value; frozensets: sorted lists; an :class:`IdentityKey`: ``[kind, value]``;
  mappings: dicts.
- events carry their ``kind`` (a key of :data:`~poolkit.model.events.EVENT_TYPES`).

Decoding is strict: an unknown field or a value of the wrong shape raises
:class:`~poolkit.errors.InvalidValueError` naming the field.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from poolkit.clock import require_aware
from poolkit.errors import InvalidValueError
from poolkit.model._checks import identifier, optional_identifier
from poolkit.model.customer import Customer, IdentityKey
from poolkit.model.events import EVENT_TYPES, Event
from poolkit.model.pool import Pool
from poolkit.model.rep import Rep
from poolkit.model.review import ReviewItem
from poolkit.model.schedule import Schedule

T = TypeVar("T", Customer, Event, Rep, Pool, Schedule, ReviewItem)

_PLAIN = (str, int, float, bool)


def encode_datetime(value: datetime) -> str:
    """ISO 8601 with offset, plus ``[zone key]`` for a ZoneInfo zone."""
    return _encode_aware(require_aware(value, "datetime"))


def _encode_aware(value: datetime) -> str:
    """:func:`encode_datetime` of a datetime known to be aware: every datetime field of
    poolkit's values was checked when the value was made."""
    text = value.isoformat()
    zone = value.tzinfo
    if isinstance(zone, ZoneInfo) and zone.key is not None:
        return f"{text}[{zone.key}]"
    return text


_ZONES: dict[str, ZoneInfo] = {}
"""The zones named in documents, by key: a document names a handful of zones thousands of
times, and ``ZoneInfo(key)`` costs more than a dict lookup even when it hits its cache."""


def _zone(key: str, text: str, field: str) -> ZoneInfo:
    zone = _ZONES.get(key)
    if zone is None:
        try:
            zone = ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise InvalidValueError(field, f"unknown time zone {key!r} in {text!r}") from error
        _ZONES[key] = zone
    return zone


def decode_datetime(text: str, field: str = "datetime") -> datetime:
    """The inverse of :func:`encode_datetime`."""
    if not isinstance(text, str):
        raise InvalidValueError(field, f"expected an ISO 8601 string, got {text!r}")
    key = None
    iso = text
    if text.endswith("]") and "[" in text:
        iso, _, key = text[:-1].partition("[")
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError as error:
        raise InvalidValueError(field, f"not an ISO 8601 datetime: {text!r}") from error
    offset = parsed.utcoffset()
    if offset is None:
        require_aware(parsed, field)  # raises: naive
    if key is None:
        return parsed
    zone = _zone(key, text, field)
    # The instant in the zone: when the zone gives it the offset written, it has the wall
    # time written too, and the fold of that offset (the common case, one call).
    local = parsed.astimezone(zone)
    if local.utcoffset() == offset:
        return local
    # Else keep the wall time and pick the fold whose offset was written: a wall time in a
    # DST gap, which no instant has in the zone, comes back as it was.
    for fold in (0, 1):
        local = parsed.replace(tzinfo=zone, fold=fold)
        if local.utcoffset() == offset:
            return local
    # The zone's rules changed since this was written (a tzdata update): the instant
    # written is what was meant, so keep it.
    return parsed.astimezone(zone)


def _encode_value(value: Any) -> Any:
    if value is None or isinstance(value, _PLAIN):
        return value
    if isinstance(value, datetime):
        return encode_datetime(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, IdentityKey):
        return [value.kind, value.value]
    if isinstance(value, frozenset | set):
        return [_encode_value(item) for item in sorted(value)]
    if isinstance(value, Mapping):
        return {str(key): _encode_value(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_encode_value(item) for item in value]
    raise InvalidValueError("codec", f"cannot encode {type(value).__name__} {value!r}")


Write = Callable[[Any], Any]
"""Turns one field's value into its JSON form."""


def _writer(kind: Any) -> Write | None:
    """The writer for a declared type, worked out once per field rather than per value
    (like :func:`_reader`); None when the value is its own JSON form. A type it does not
    know is written by the general :func:`_encode_value`."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin is typing.Union or origin is types.UnionType:
        arms = [arm for arm in args if arm is not types.NoneType]
        if all(arm in _PLAIN for arm in arms):
            return None
        if len(arms) == 1:
            arm = _writer(arms[0])
            if arm is None:
                return None
            return lambda value: None if value is None else arm(value)
        return _encode_value
    if origin is frozenset:
        if args[0] is IdentityKey:
            # Sorted as pairs of strings: IdentityKey's own ordering (attrs' order=True)
            # builds two tuples per comparison, which was most of a customer's encoding.
            return lambda keys: [list(pair) for pair in sorted([(k.kind, k.value) for k in keys])]
        item = _writer(args[0])
        if item is None:
            return sorted
        return lambda values: [item(each) for each in sorted(values)]
    if origin is Mapping or origin is dict:
        entry = _writer(args[1])
        if entry is None:
            return lambda mapping: {str(key): each for key, each in mapping.items()}
        return lambda mapping: {str(key): entry(each) for key, each in mapping.items()}
    if kind is datetime:
        return _encode_aware
    if kind is IdentityKey:
        return lambda key: [key.kind, key.value]
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return lambda member: member.value
    if kind in _PLAIN:
        return None
    return _encode_value


_WRITERS: dict[type, tuple[tuple[str, Write | None], ...]] = {}


def _writers(cls: type) -> tuple[tuple[str, Write | None], ...]:
    """(name, writer) of each field of ``cls``, cached per class."""
    found = _WRITERS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = tuple((field.name, _writer(hints[field.name])) for field in attrs.fields(cls))
        _WRITERS[cls] = found
    return found


def encode(value: Customer | Event | Rep | Pool | Schedule | ReviewItem) -> dict[str, Any]:
    """A dict of JSON types (str, int, float, bool, None, list, dict) describing ``value``."""
    out: dict[str, Any] = {}
    if isinstance(value, Event):
        out["kind"] = value.kind
    for name, write in _WRITERS.get(type(value)) or _writers(type(value)):
        raw = getattr(value, name)
        out[name] = raw if write is None else write(raw)
    return out


def encode_changed(
    value: Customer, before: Customer, document: Mapping[str, Any]
) -> dict[str, Any]:
    """:func:`encode` of ``value``, a change of ``before`` (as
    :func:`~poolkit.model.history.apply` makes one), given ``document``, the document
    ``before`` was decoded from: the fields ``value`` still shares with ``before`` (the same
    objects) keep their form in ``document``, which decodes to them; only the others are
    written. A claim changes 7 of a customer's 21 fields."""
    out: dict[str, Any] = {}
    for name, write in _WRITERS.get(type(value)) or _writers(type(value)):
        raw = getattr(value, name)
        if raw is getattr(before, name) and name in document:
            out[name] = document[name]
        else:
            out[name] = raw if write is None else write(raw)
    return out


Read = Callable[[Any, str], Any]
"""Turns the JSON form of one field back into its value; the str names the field."""


def _reader(kind: Any) -> Read:
    """The reader for a declared type, worked out once per field rather than per value."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin is typing.Union or origin is types.UnionType:
        return _union_reader(kind, args)
    if origin is frozenset:
        return _frozenset_reader(_reader(args[0]))
    if origin is Mapping or origin is dict:
        return _mapping_reader(_reader(args[1]))
    if kind is datetime:
        return decode_datetime
    if kind is IdentityKey:
        return _identity_key
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _enum_reader(kind)
    if kind in _PLAIN:
        return _scalar_reader(kind)
    raise InvalidValueError("codec", f"cannot decode a value of type {kind}")


def _union_reader(kind: Any, args: tuple[Any, ...]) -> Read:
    """An optional value (``X | None``), or one of the plain JSON types."""
    arms = [arm for arm in args if arm is not types.NoneType]
    optional = len(arms) < len(args)
    if len(arms) == 1:
        arm = _reader(arms[0])
        if not optional:
            return arm
        return lambda raw, field: None if raw is None else arm(raw, field)
    if all(arm in _PLAIN for arm in arms):
        # AttributeValue (str | int | float | bool): JSON keeps these as they are.
        def plain(raw: Any, field: str) -> Any:
            if (raw is None and optional) or isinstance(raw, _PLAIN):
                return raw
            raise InvalidValueError(field, f"expected one of {kind}, got {raw!r}")

        return plain
    raise InvalidValueError("codec", f"cannot decode a value of type {kind}")


def _frozenset_reader(item: Read) -> Read:
    def items(raw: Any, field: str) -> Any:
        if not isinstance(raw, list):
            raise InvalidValueError(field, f"expected a list, got {raw!r}")
        if not raw:  # most customers have no tags: no comprehension to run
            return _EMPTY_SET
        return frozenset([item(each, field) for each in raw])

    return items


def _mapping_reader(value: Read) -> Read:
    def mapping(raw: Any, field: str) -> Any:
        if not isinstance(raw, dict):
            raise InvalidValueError(field, f"expected an object, got {raw!r}")
        if not raw:  # most of a customer's three mappings are empty
            return {}
        try:
            return {key: value(each, field) for key, each in raw.items()}
        except InvalidValueError:
            pass
        # Read again, naming each entry, to say which one is wrong: naming them all on the
        # way cost a string per entry of every document.
        return {key: value(each, f"{field}.{key}") for key, each in raw.items()}

    return mapping


def _identity_key(raw: Any, field: str) -> Any:
    if not (isinstance(raw, list) and len(raw) == 2):
        raise InvalidValueError(field, f"expected [kind, value], got {raw!r}")
    return IdentityKey(raw[0], raw[1])


def _enum_reader(members: type[enum.Enum]) -> Read:
    by_value = members._value2member_map_

    def member(raw: Any, field: str) -> Any:
        if type(raw) is str:  # a member's value, found without the enum's own call
            found = by_value.get(raw)
            if found is not None:
                return found
        try:
            return members(raw)
        except ValueError as error:
            raise InvalidValueError(field, f"not a {members.__name__}: {raw!r}") from error

    return member


def _scalar_reader(expected: type) -> Read:
    def scalar(raw: Any, field: str) -> Any:
        if expected is float and isinstance(raw, int) and not isinstance(raw, bool):
            return float(raw)
        if not isinstance(raw, expected) or (expected is not bool and isinstance(raw, bool)):
            raise InvalidValueError(field, f"expected {expected.__name__}, got {raw!r}")
        return raw

    return scalar


Fields = dict[str, tuple[str, Read | None, bool]]
"""A class's fields by the name documents use: its init argument, its reader (None for a
field that its class's own validator checks whole, or for an event's ``kind``), and
whether it is optional (``X | None`` of one type X: its reader then reads X, and a null is
None without a call)."""

_EMPTY_SET: frozenset[Any] = frozenset()

# Validators that check a string field whole, type included: the reader need not check it
# first (the validator refuses a wrong type with the same typed error, naming the field).
_STRING_CHECKS = (identifier, optional_identifier)

_FIELDS: dict[type, Fields] = {}


def _fields(cls: type) -> Fields:
    """The fields of ``cls`` (see :data:`Fields`), worked out once per class."""
    found = _FIELDS.get(cls)
    if found is None:
        # Annotations are strings under PEP 563: resolve them once.
        hints = typing.get_type_hints(cls)
        found = {}
        for field in attrs.fields(cls):
            kind = hints[field.name]
            checked = field.validator in _STRING_CHECKS and kind in (str, str | None)
            arms = [arm for arm in typing.get_args(kind) if arm is not types.NoneType]
            optional = len(arms) == 1 and len(typing.get_args(kind)) == 2
            read = None if checked else _reader(arms[0] if optional else kind)
            found[field.name] = (field.alias, read, optional)
        if issubclass(cls, Event):
            found["kind"] = ("", None, False)  # which class: read by _event_class
        _FIELDS[cls] = found
    return found


Whole = Callable[[Mapping[str, Any]], Any]
"""Makes a value of one class from a document that names each of its fields once."""

_WHOLE: dict[type, Whole] = {}


def _whole(cls: type) -> Whole:
    """The :data:`Whole` reader of ``cls``, worked out once per class: :func:`decode`'s
    loop over the fields, unrolled into one function that reads each field with its reader
    and makes the value in one call (as attrs writes each class's ``__init__``). A document
    that does not name every field once raises here, and :func:`decode` reads it again the
    general way, which says what is wrong."""
    found = _WHOLE.get(cls)
    if found is None:
        fields = _FIELDS.get(cls) or _fields(cls)
        scope: dict[str, Any] = {"cls": cls}
        positional: list[str] = []
        by_keyword: list[str] = []
        for number, field in enumerate(attrs.fields(cls)):
            if not field.init:  # not made from its document: leave it to the general way
                positional = ['data["a field __init__ does not take"]']
                by_keyword = []
                break
            alias, read, optional = fields[field.name]
            value = f"data[{field.name!r}]"
            if read is not None:
                scope[f"read{number}"] = read
                call = f"read{number}({{}}, {field.name!r})"
                value = (
                    f"(None if (raw{number} := {value}) is None else {call.format(f'raw{number}')})"
                    if optional
                    else call.format(value)
                )
            if field.kw_only:
                by_keyword.append(f"{alias}={value}")
            else:
                positional.append(value)
        arguments = "".join(f"        {argument},\n" for argument in positional + by_keyword)
        exec(f"def whole(data):\n    return cls(\n{arguments}    )\n", scope)
        found = _WHOLE[cls] = scope["whole"]
    return found


def _event_class(kind: type[Event], data: Mapping[str, Any]) -> type[Event]:
    name = data.get("kind")
    found = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if found is None:
        raise InvalidValueError("kind", f"unknown event kind {name!r}")
    if not issubclass(found, kind):
        raise InvalidValueError("kind", f"a {name!r} event is not a {kind.__name__}")
    return found


def decode(kind: type[T], data: Mapping[str, Any]) -> T:
    """Rebuild a value of type ``kind`` from :func:`encode`'s output.

    ``decode(Event, data)`` returns the event class named by ``data["kind"]``.

    Every check a value gets when made runs here too (the class's own validators, through
    its ``__init__``): a document is data from outside, however it was written.
    """
    if type(data) is not dict and not isinstance(data, Mapping):
        raise InvalidValueError(kind.__name__, f"expected an object, got {data!r}")
    cls: type[Any] = kind
    if kind is not Customer and issubclass(kind, Event):
        cls = _event_class(kind, data)
    fields = _FIELDS.get(cls) or _fields(cls)
    if len(data) == len(fields):  # as encode writes it: every field (and an event's kind)
        try:
            whole: T = (_WHOLE.get(cls) or _whole(cls))(data)
            return whole
        except Exception:  # read again below, the general way, which says what is wrong
            pass
    kwargs: dict[str, Any] = {}
    for name, raw in data.items():
        found = fields.get(name)
        if found is None:
            unknown = sorted(str(each) for each in data if each not in fields)
            raise InvalidValueError(unknown[0], f"unknown field of {cls.__name__}")
        alias, read, optional = found
        if alias:
            kwargs[alias] = raw if read is None or (raw is None and optional) else read(raw, name)
    try:
        value: T = cls(**kwargs)
    except TypeError as error:
        # attrs reports a missing required field as a TypeError from __init__.
        raise InvalidValueError(cls.__name__, str(error)) from error
    return value


def encode_customer(customer: Customer) -> dict[str, Any]:
    return encode(customer)


def decode_customer(data: Mapping[str, Any]) -> Customer:
    return decode(Customer, data)


def encode_event(event: Event) -> dict[str, Any]:
    return encode(event)


def decode_event(data: Mapping[str, Any]) -> Event:
    return decode(Event, data)


def to_plain(value: Any) -> Any:
    """Any poolkit value (a customer, an event, a sweep report, a forecast item...) as JSON
    types, for output to people and scripts rather than for storage.

    Like :func:`encode`, except that datetimes are plain ISO 8601 with their offset (no
    ``[zone]`` suffix, which many JSON consumers cannot parse) and that it accepts any
    attrs class. It is one-way: use :func:`encode` for what must be decoded again.
    """
    if isinstance(value, datetime):
        require_aware(value, "datetime")
        return value.isoformat()
    if isinstance(value, IdentityKey):
        return [value.kind, value.value]
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        if isinstance(value, Event):
            out["kind"] = value.kind
        for field in attrs.fields(type(value)):
            out[field.name] = to_plain(getattr(value, field.name))
        return out
    if isinstance(value, frozenset | set):
        return [to_plain(item) for item in sorted(value)]
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [to_plain(item) for item in value]
    return _encode_value(value)


__all__ = [
    "decode",
    "decode_customer",
    "decode_datetime",
    "decode_event",
    "encode",
    "encode_customer",
    "encode_datetime",
    "encode_event",
    "to_plain",
]
