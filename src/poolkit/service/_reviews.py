"""The review list's shared steps: finding look-alike names and filing them once per pair."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime
from operator import itemgetter

import attrs

from poolkit.identity.lookalike import normalised_matches, review_matches, telling_blocks
from poolkit.identity.similarity import name_blocks, normalised_name
from poolkit.model.customer import Customer
from poolkit.model.review import ReviewItem, ReviewStatus, SimilarMatch
from poolkit.policy.config import Policy
from poolkit.ports import UnitOfWork

# The fields of a row of ``names_by_block``.
_ID, _NORMAL = itemgetter(0), itemgetter(2)


def review_id(customer_id: str, similar_id: str) -> str:
    """Review items are named by their pair, so a pair is filed once."""
    return f"{customer_id}~{similar_id}"


def resolved(item: ReviewItem, status: ReviewStatus, by: str | None, at: datetime) -> ReviewItem:
    return attrs.evolve(item, status=status, resolved_by=by, resolved_at=at)


class NameBlocks:
    """The store's name-block lists, as a look-alike lookup reads them
    (:func:`~poolkit.identity.lookalike.telling_blocks`: every customer of a name's
    uncommon blocks, or each block's first ``per_block`` by id when all are common),
    remembered for one unit of work that writes nothing but the customers it tells of
    (:meth:`added`): an import's batch. Blocks come back row after row; read once a batch,
    the lookup of an import costs what the batch's blocks cost.

    The lists are exactly what the store would answer at each point of the unit of work.
    :meth:`prepare` asks the store, before any customer is added, which of the batch's
    blocks are common (:meth:`~poolkit.ports.CustomerRepository.common_blocks`) and reads
    the lists the rows will read (:meth:`~poolkit.ports.CustomerRepository.names_by_block`,
    with the names' stored normal forms, so no stored name is cut into blocks or
    normalised again here). Each added customer is put in its place in the lists of its
    blocks, and an uncommon block whose list grows past ``per_block`` becomes common. A
    common block's list that only a later row needs is read then, and the customers added
    since are merged in: the store may not hold them yet (the batch writes them at its
    end)."""

    def __init__(self, uow: UnitOfWork, per_block: int) -> None:
        self._uow = uow
        self._per_block = per_block
        # The blocks prepared, and the common ones among them (a name's telling blocks are
        # a set difference); the lists read, each block's first ``per_block`` customer ids
        # by id (the whole list of an uncommon block).
        self._prepared: set[str] = set()
        self._commons: set[str] = set()
        self._lists: dict[str, list[str]] = {}
        # Each listed customer's row (id, name, normal form), as names_by_block gives it.
        self._listed: dict[str, tuple[str, str, str]] = {}
        # The customers added, by block, for the lists of common blocks read later.
        self._added: dict[str, list[str]] = {}
        self._adding = False

    def prepare(self, names: Iterable[frozenset[str]]) -> None:
        """Learn which of the blocks of ``names`` (each a name's blocks) are common, and read
        the lists those names will read, in one lookup each: an import batch asks for all
        its rows at once, before it adds any."""
        if self._adding:  # the store's counts would miss the customers not written yet
            raise RuntimeError("NameBlocks.prepare after a customer was added")
        rows = list(names)
        every = frozenset().union(*rows)
        unknown = every - self._prepared
        if unknown:
            self._commons |= self._uow.customers.common_blocks(unknown, self._per_block)
            self._prepared |= unknown
        self._read(frozenset().union(*(self._telling(blocks) for blocks in rows)))

    def _telling(self, blocks: frozenset[str]) -> frozenset[str]:
        return telling_blocks(blocks, self._commons)

    def _read(self, blocks: frozenset[str]) -> None:
        lists = self._lists
        missing = frozenset(block for block in blocks if block not in lists)
        if not missing:
            return
        rows, added = self._listed, self._added
        for block, found in self._uow.customers.names_by_block(missing, self._per_block).items():
            # In C loops (map, zip), the rows kept as they come: a batch of an import into a
            # large book reads some 50,000.
            listed = list(map(_ID, found))
            rows.update(zip(listed, found, strict=True))
            if block in added:  # added here since prepare: written already, or not yet
                listed = sorted(set(listed).union(added[block]))[: self._per_block]
            lists[block] = listed

    def candidate_ids(self, blocks: frozenset[str]) -> set[str]:
        """The ids of the candidates a lookup of a name with ``blocks`` reads now."""
        unknown = blocks - self._prepared
        if unknown:
            raise KeyError(f"blocks not prepared: {sorted(unknown)}")
        telling = self._telling(blocks)
        self._read(telling)
        lists = self._lists
        return set().union(*(lists[block] for block in telling))

    def name_of(self, customer_id: str) -> tuple[str, str]:
        """A listed customer's name and its normal form."""
        _, name, normal = self._listed[customer_id]
        return name, normal

    def normal_forms(self, ids: Iterable[str]) -> list[str]:
        """The normal forms of the names of listed customers, in the order of ``ids``."""
        return list(map(_NORMAL, map(self._listed.__getitem__, ids)))

    def added(self, customer: Customer) -> None:
        """``customer`` was just added in this unit of work."""
        self._adding = True
        self._listed[customer.id] = (customer.id, customer.name, normalised_name(customer.name))
        per_block = self._per_block
        for block in name_blocks(customer.name):
            known = self._lists.get(block)
            if known is None:
                self._added.setdefault(block, []).append(customer.id)
                continue
            bisect.insort(known, customer.id)
            if len(known) > per_block:
                # An uncommon block's list was whole: past per_block, it is common now.
                self._commons.add(block)
                del known[per_block:]


def similar_in(
    uow: UnitOfWork,
    policy: Policy,
    name: str,
    exclude: str | None = None,
    names: NameBlocks | None = None,
) -> tuple[SimilarMatch, ...]:
    """Stored customers whose names may be the same company: scoring at or above the
    policy's threshold and accepted by :func:`~poolkit.identity.may_be_same` (same numbers,
    same places), best first, at most ``max_per_customer``."""
    settings = policy.similarity
    if not settings.enabled:
        return ()
    blocks = name_blocks(name)
    if not blocks:
        return ()
    if names is None:
        common = uow.customers.common_blocks(blocks, settings.per_block)
        found = uow.customers.similar_names(telling_blocks(blocks, common), settings.per_block)
        matches = review_matches(
            normalised_name(name),
            (pair for pair in found if pair[0] != exclude),
            threshold=settings.threshold,
            limit=settings.max_per_customer,
            name=name,
        )
        return tuple(SimilarMatch(m.customer_id, m.name, m.score) for m in matches)
    # An import batch's lists: the candidates' normal forms are known, and their order
    # does not matter (the matches are ranked by score, then id).
    candidates = names.candidate_ids(blocks)
    candidates.discard(exclude or "")
    ids = list(candidates)
    matches = normalised_matches(
        normalised_name(name),
        ids,
        names.normal_forms(ids),
        threshold=settings.threshold,
        limit=settings.max_per_customer,
        name=name,
        name_of=lambda customer_id: names.name_of(customer_id)[0],
    )
    return tuple(
        SimilarMatch(m.customer_id, names.name_of(m.customer_id)[0], m.score) for m in matches
    )


def file_reviews(
    uow: UnitOfWork,
    policy: Policy,
    customer: Customer,
    at: datetime,
    names: NameBlocks | None = None,
) -> tuple[SimilarMatch, ...]:
    """Put each look-alike of ``customer`` on the review list, once per pair."""
    matches = similar_in(uow, policy, customer.name, exclude=customer.id, names=names)
    for match in matches:
        pair = (customer.id, match.customer_id)
        if any(uow.reviews.get(review_id(a, b)) for a, b in (pair, pair[::-1])):
            continue
        uow.reviews.add(
            ReviewItem(
                id=review_id(*pair),
                customer_id=customer.id,
                similar_id=match.customer_id,
                score=match.score,
                created_at=at,
            )
        )
    return matches
