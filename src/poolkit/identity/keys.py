"""Customer identity keys in their normalised form, so a collision check compares like with like."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from poolkit.identity.normalise import KEY_KINDS, normalise_key
from poolkit.model.customer import IdentityKey, to_identity_keys


def normalise_keys(
    keys: Iterable[IdentityKey | tuple[str, str]] | Mapping[str, str], default_region: str
) -> frozenset[IdentityKey]:
    """Each key of a known kind (phone, uscc, org_code, email, name) normalised; keys of
    other kinds kept as given. A malformed key raises InvalidKeyError naming the input."""
    return frozenset(
        IdentityKey(key.kind, normalise_key(key.kind, key.value, default_region=default_region))
        if key.kind in KEY_KINDS
        else key
        for key in to_identity_keys(keys)
    )
