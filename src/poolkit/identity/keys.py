"""Customer identity keys in their normalised form, so a collision check compares like with like."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from poolkit.errors import InvalidValueError
from poolkit.identity.normalise import KEY_KINDS, normalise_key
from poolkit.model.customer import IdentityKey


def normalise_keys(
    keys: Iterable[IdentityKey | tuple[str, str]] | Mapping[str, str], default_region: str
) -> frozenset[IdentityKey]:
    """Each key of a known kind (phone, uscc, org_code, email, name) normalised; keys of
    other kinds kept as given, trimmed. A malformed key raises InvalidKeyError naming the
    input. Keys come as IdentityKey values, (kind, value) pairs or a {kind: value} mapping."""
    return frozenset(
        IdentityKey(kind, normalise_key(kind, value, default_region=default_region))
        if kind in KEY_KINDS
        else IdentityKey(kind, value.strip())
        for kind, value in _pairs(keys)
    )


def _pairs(
    keys: Iterable[IdentityKey | tuple[str, str]] | Mapping[str, str],
) -> Iterator[tuple[str, str]]:
    # Raw pairs, not IdentityKey values: an IdentityKey refuses the untrimmed, oddly
    # formatted input that normalisation exists to accept.
    if isinstance(keys, Mapping):
        items: Iterable[object] = keys.items()
    elif isinstance(keys, str):
        raise InvalidValueError("keys", f"expected keys, got the string {keys!r}")
    else:
        items = keys
    for item in items:
        if isinstance(item, IdentityKey):
            yield item.kind, item.value
        elif (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], str)
        ):
            yield item[0].strip(), item[1]
        else:
            raise InvalidValueError("keys", f"expected IdentityKey or (kind, value), got {item!r}")
