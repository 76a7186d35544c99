"""How many customers a rep owns, counted by what the caps look at."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from poolkit.errors import InvalidValueError
from poolkit.model._checks import non_negative_int
from poolkit.model.customer import Customer


def _consistent(holdings: Holdings, attribute: Any, value: int) -> None:
    if value > min(holdings.dealt, holdings.locked):
        raise InvalidValueError(
            "dealt_and_locked",
            f"{value} is more than the dealt ({holdings.dealt}) or locked ({holdings.locked})",
        )
    if holdings.dealt + holdings.locked - value > holdings.owned:
        raise InvalidValueError(
            "owned", f"{holdings.owned} is fewer than the dealt and locked customers counted"
        )


@attrs.frozen
class Holdings:
    """The customers one rep owns, counted: ``owned`` in all, of which ``dealt`` have a
    deal (``last_deal_at`` set), ``locked`` are locked, and ``dealt_and_locked`` are both.

    Enough for the cap and the lock cap to decide from counts alone, whatever the policy
    counts (``caps.count_dealt``, ``caps.count_locked``): a store counts them with one
    indexed query (:meth:`poolkit.ports.CustomerRepository.holdings`) instead of reading
    the rep's whole book.
    """

    owned: int = attrs.field(default=0, validator=non_negative_int)
    dealt: int = attrs.field(default=0, validator=non_negative_int)
    locked: int = attrs.field(default=0, validator=non_negative_int)
    dealt_and_locked: int = attrs.field(default=0, validator=[non_negative_int, _consistent])

    @classmethod
    def of(cls, customers: Iterable[Customer]) -> Holdings:
        """The holdings of ``customers`` (a rep's book, as ``find`` by owner returns it)."""
        owned = dealt = locked = both = 0
        for customer in customers:
            has_deal = customer.last_deal_at is not None
            owned += 1
            dealt += has_deal
            locked += customer.locked
            both += has_deal and customer.locked
        return cls(owned, dealt, locked, both)

    def counted(self, *, count_dealt: bool, count_locked: bool) -> int:
        """How many count toward a cap that leaves out the dealt customers unless
        ``count_dealt`` and the locked ones unless ``count_locked``."""
        left_out = 0 if count_dealt else self.dealt
        if not count_locked:
            left_out += self.locked - (self.dealt_and_locked if not count_dealt else 0)
        return self.owned - left_out


__all__ = ["Holdings"]
