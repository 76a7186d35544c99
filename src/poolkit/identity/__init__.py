"""Identity keys: normalise phones, credit codes, organisation codes, emails and company names.

Pure functions, no I/O. Stores compare normalised keys to detect collisions (撞单); see
``docs/identity.md`` for each key's rule.
"""

from poolkit.identity.keys import normalise_keys
from poolkit.identity.lookalike import (
    MAX_PER_CUSTOMER,
    may_be_same,
    review_matches,
    telling_blocks,
)
from poolkit.identity.masking import mask_value, masked
from poolkit.identity.normalise import (
    KEY_KINDS,
    SIMPLIFIES_CHINESE,
    normalise_email,
    normalise_key,
    normalise_name,
    normalise_org_code,
    normalise_phone,
    normalise_uscc,
    registered_regions,
)
from poolkit.identity.similarity import blocking_keys, name_similarity

__all__ = [
    "KEY_KINDS",
    "MAX_PER_CUSTOMER",
    "SIMPLIFIES_CHINESE",
    "blocking_keys",
    "mask_value",
    "masked",
    "may_be_same",
    "name_similarity",
    "normalise_email",
    "normalise_key",
    "normalise_keys",
    "normalise_name",
    "normalise_org_code",
    "normalise_phone",
    "normalise_uscc",
    "registered_regions",
    "review_matches",
    "telling_blocks",
]
