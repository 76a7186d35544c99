"""Identity keys shown masked (``138****8000``) to someone who may see a customer but not
copy its contact details: the policy's ``visibility.mask_keys``.

One rule per kind of key, each keeping enough to tell two customers apart on a screen and
to confirm a number a caller reads out, never enough to dial or write to it:

- ``phone``: the last four digits and what comes before the eight last characters stay
  (``+8613800138000`` -> ``+86138****8000``, ``13800138000`` -> ``138****8000``); an
  extension is dropped; a number shorter than nine characters keeps its last two only;
- ``email``: the first character of the mailbox and the domain (``j***@example.com``);
- ``name``: the first character (``张**``, ``A****``);
- any other kind (``uscc``, ``org_code``, a CRM's own): a quarter of the characters at each
  end, at most four (``91310000MA1FL1234X`` -> ``9131**********234X``); one of three
  characters or fewer is all stars.
"""

from __future__ import annotations

import attrs

from poolkit.model.customer import Customer, IdentityKey

MASK = "*"


def _phone(value: str) -> str:
    number = value.split(";", 1)[0]
    if len(number) < 9:
        return MASK * max(len(number) - 2, 1) + number[-2:]
    return number[:-8] + MASK * 4 + number[-4:]


def _email(value: str) -> str:
    mailbox, at, domain = value.rpartition("@")
    if not at or not mailbox:
        return _other(value)
    return mailbox[0] + MASK * 3 + "@" + domain


def _name(value: str) -> str:
    return value[0] + MASK * max(len(value) - 1, 1)


def _other(value: str) -> str:
    keep = min(4, len(value) // 4)
    if keep == 0:
        return MASK * len(value)
    return value[:keep] + MASK * (len(value) - 2 * keep) + value[-keep:]


_RULES = {"phone": _phone, "email": _email, "name": _name}


def mask_value(kind: str, value: str) -> str:
    """``value``, a key of ``kind``, masked by the rule of its kind (see the module)."""
    return _RULES.get(kind, _other)(value)


def mask_key(key: IdentityKey) -> IdentityKey:
    return IdentityKey(key.kind, mask_value(key.kind, key.value))


def masked(customer: Customer) -> Customer:
    """``customer`` with every identity key masked; nothing else changes. For showing
    only: a masked customer is never written back (the service reads what it writes)."""
    if not customer.keys:
        return customer
    return attrs.evolve(customer, keys=frozenset(mask_key(key) for key in customer.keys))


__all__ = ["MASK", "mask_key", "mask_value", "masked"]
