"""The review list's shared steps: finding look-alike names and filing them once per pair."""

from __future__ import annotations

from datetime import datetime

import attrs

from poolkit.identity.lookalike import review_matches
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


def similar_in(
    uow: UnitOfWork, policy: Policy, name: str, exclude: str | None = None
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
    candidates = (
        pair
        for pair in uow.customers.similar_names(blocks, settings.per_block)
        if pair[0] != exclude
    )
    matches = review_matches(
        normalised_name(name),
        candidates,
        threshold=settings.threshold,
        limit=settings.max_per_customer,
    )
    matches_out = [SimilarMatch(m.customer_id, m.name, m.score) for m in matches]
    return tuple(matches_out)


def file_reviews(
    uow: UnitOfWork, policy: Policy, customer: Customer, at: datetime
) -> tuple[SimilarMatch, ...]:
    """Put each look-alike of ``customer`` on the review list, once per pair."""
    matches = similar_in(uow, policy, customer.name, exclude=customer.id)
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
