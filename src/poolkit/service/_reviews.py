"""The review list's shared steps: finding look-alike names and filing them once per pair."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime

import attrs

from poolkit.identity.lookalike import normalised_matches, review_matches
from poolkit.identity.similarity import name_blocks, normalised_name
from poolkit.model.customer import Customer
from poolkit.model.review import ReviewItem, ReviewStatus, SimilarMatch
from poolkit.policy.config import Policy
from poolkit.ports import UnitOfWork


def review_id(customer_id: str, similar_id: str) -> str:
    """Review items are named by their pair, so a pair is filed once."""
    return f"{customer_id}~{similar_id}"


def resolved(item: ReviewItem, status: ReviewStatus, by: str | None, at: datetime) -> ReviewItem:
    return attrs.evolve(item, status=status, resolved_by=by, resolved_at=at)


class NameBlocks:
    """The store's name-block lists (each block's first ``per_block`` customers by id, what
    :meth:`~poolkit.ports.CustomerRepository.similar_names` reads), remembered for one unit
    of work that writes nothing but the customers it tells of (:meth:`added`): an import's
    batch. Common blocks (``b:科技``) come back row after row; read once a batch, the
    look-alike lookup of an import costs what its rare blocks cost.

    The lists are exactly what the store would answer at each point of the unit of work:
    each is read once (:meth:`~poolkit.ports.CustomerRepository.names_by_block`, the store's
    own lists with the names' stored normal forms, so no stored name is cut into blocks or
    normalised again here), and each added customer is put in its place in the lists of its
    blocks."""

    def __init__(self, uow: UnitOfWork, per_block: int) -> None:
        self._uow = uow
        self._per_block = per_block
        # Each block's customer ids, by id; each listed customer's name and normal form
        # (as stored, or worked out once for a customer added in this unit of work).
        self._lists: dict[str, list[str]] = {}
        self._names: dict[str, str] = {}
        self._normals: dict[str, str] = {}

    def read(self, blocks: frozenset[str]) -> None:
        """Read the lists of those of ``blocks`` not read yet, in one lookup: an import
        batch asks for all its rows' blocks at once."""
        lists = self._lists
        missing = frozenset(block for block in blocks if block not in lists)
        if not missing:
            return
        names, normals = self._names, self._normals
        for block, found in self._uow.customers.names_by_block(missing, self._per_block).items():
            lists[block] = [customer_id for customer_id, _, _ in found]
            for customer_id, name, normal in found:
                names[customer_id] = name
                normals[customer_id] = normal

    def candidate_ids(self, blocks: frozenset[str]) -> set[str]:
        """The ids of what ``similar_names(blocks, per_block)`` answers now."""
        self.read(blocks)
        lists = self._lists
        return set().union(*(lists[block] for block in blocks))

    def candidates(self, blocks: frozenset[str]) -> list[tuple[str, str]]:
        """What ``similar_names(blocks, per_block)`` answers now: ``(id, name)`` by id."""
        names = self._names
        return [(cid, names[cid]) for cid in sorted(self.candidate_ids(blocks))]

    def name_of(self, customer_id: str) -> tuple[str, str]:
        """A listed customer's name and its normal form."""
        return self._names[customer_id], self._normals[customer_id]

    def normal_forms(self, ids: Iterable[str]) -> list[str]:
        """The normal forms of the names of listed customers, in the order of ``ids``."""
        return list(map(self._normals.__getitem__, ids))

    def added(self, customer: Customer) -> None:
        """``customer`` was just added in this unit of work."""
        self._names[customer.id] = customer.name
        self._normals[customer.id] = normalised_name(customer.name)
        for block in name_blocks(customer.name):
            known = self._lists.get(block)
            if known is not None:
                bisect.insort(known, customer.id)
                del known[self._per_block :]


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
        found = uow.customers.similar_names(blocks, settings.per_block)
        matches = review_matches(
            normalised_name(name),
            (pair for pair in found if pair[0] != exclude),
            threshold=settings.threshold,
            limit=settings.max_per_customer,
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
