"""Look-alike customers: the review list, "not the same", and merging two into one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from poolkit.errors import CustomerNotFound, InvalidValueError, PermissionDenied, ReviewNotFound
from poolkit.model.customer import Customer, CustomerStatus
from poolkit.model.events import Event, Merged, MergedInto
from poolkit.model.rep import Rep
from poolkit.model.review import ReviewItem, ReviewStatus, SimilarMatch
from poolkit.ports import UnitOfWork
from poolkit.service import _reviews, rights
from poolkit.service._core import ServiceCore, Work, next_event, require_state
from poolkit.service._retry import retried

__all__ = ["LookalikeJobs", "MergedOwnership", "merged_ownership"]


@attrs.frozen
class MergedOwnership:
    """Who owns the merged customer, since when, and who is related to it."""

    owner_id: str | None
    owned_since: datetime | None
    related_reps: Mapping[str, datetime]


def merged_ownership(keep: Customer, absorb: Customer, at: datetime) -> MergedOwnership:
    """The ownership rule of a merge.

    If the kept customer is private, its owner keeps it (the other owner, if any, becomes
    a related rep from ``at``); if it is public and the absorbed one private, the absorbed
    one's owner takes it over, so the rep working the customer goes on working it. Related
    reps are united, each from the later of its two times; the owner is never related.
    """
    related = dict(absorb.related_reps)
    for rep_id, since in keep.related_reps.items():
        related[rep_id] = max(since, related.get(rep_id, since))
    owner_id, owned_since = keep.owner_id, keep.owned_since
    if owner_id is None and absorb.owner_id is not None:
        owner_id, owned_since = absorb.owner_id, absorb.owned_since
    elif absorb.owner_id is not None and absorb.owner_id != owner_id:
        related[absorb.owner_id] = at
    if owner_id is not None:
        related.pop(owner_id, None)
    return MergedOwnership(owner_id, owned_since, related)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((t for t in (a, b) if t is not None), default=None)


def _later_each(a: Mapping[str, datetime], b: Mapping[str, datetime]) -> dict[str, datetime]:
    """Per key, the later of the two times."""
    return {
        key: max(t for t in (a.get(key), b.get(key)) if t is not None) for key in sorted({*a, *b})
    }


class LookalikeJobs(ServiceCore):
    def similar(self, name: str, *, exclude: str | None = None) -> list[SimilarMatch]:
        """Stored customers whose names look like ``name``, best first: what a rep should
        check before entering a customer. Changes nothing."""
        with self._work() as work:
            return list(_reviews.similar_in(work.uow, work.policy, name, exclude))

    def reviews(
        self, status: ReviewStatus | None = ReviewStatus.OPEN, customer_id: str | None = None
    ) -> list[ReviewItem]:
        """The review list (open items by default), oldest first."""
        with self.store.unit_of_work() as uow:
            return uow.reviews.find(status, customer_id)

    @retried
    def mark_not_same(self, actor_id: str, review_id: str) -> ReviewItem:
        """An admin decides the two customers of a review item are different; the pair is
        not filed again."""
        with self._work() as work:
            actor = work.team.actor(actor_id)
            item = self._open_review(work.uow, actor, review_id, "mark as not the same")
            resolved = _reviews.resolved(item, ReviewStatus.NOT_SAME, actor.id, work.at)
            work.uow.reviews.update(resolved)
            work.uow.commit()
            return resolved

    def _open_review(
        self, uow: UnitOfWork, actor: Rep, review_id: str, operation: str
    ) -> ReviewItem:
        # Rights first, so a non-admin cannot probe which review ids exist.
        verdict = rights.may_review(actor)
        if not verdict.allowed:
            raise PermissionDenied(
                actor.id, operation, f"review item {review_id!r}", verdict.reason
            )
        item = uow.reviews.get(review_id)
        if item is None:
            raise ReviewNotFound(review_id)
        if item.status is not ReviewStatus.OPEN:
            raise InvalidValueError(
                "review_id", f"review item {review_id!r} is already {item.status.value}"
            )
        return item

    @retried
    def merge(self, actor_id: str, keep_id: str, absorb_id: str) -> Customer:
        """An admin merges ``absorb_id`` into ``keep_id``: one customer remains.

        The rule: the kept customer keeps its id, name and pool; keys, tags and related reps
        are united; attributes and grade are the kept customer's where it has them; follow-up
        and deal times are the later of the two. Ownership: see :func:`merged_ownership`.
        The absorbed customer ends with a ``merged_into`` event and leaves the store;
        :meth:`merged_history` shows both histories in time order. Review items of the pair
        are closed as merged; other open items of the absorbed customer move to the kept one.
        """
        if keep_id == absorb_id:
            raise InvalidValueError("absorb_id", "a customer cannot be merged into itself")
        with self._work() as work:
            actor = work.team.actor(actor_id)
            keep = self._customer(work.uow, keep_id)
            absorb = self._customer(work.uow, absorb_id)
            verdict = rights.may_merge(actor)
            if not verdict.allowed:
                raise PermissionDenied(actor.id, "merge", f"customer {absorb_id!r}", verdict.reason)
            for customer in (keep, absorb):
                require_state(customer, "merge", CustomerStatus.PRIVATE, CustomerStatus.PUBLIC)
            at = work.at
            owner = merged_ownership(keep, absorb, at)
            self._write(work, absorb, next_event(MergedInto, absorb, at, actor.id, into_id=keep.id))
            merged = self._write(
                work,
                keep,
                next_event(
                    Merged,
                    keep,
                    at,
                    actor.id,
                    absorbed_id=absorb.id,
                    owner_id=owner.owner_id,
                    owned_since=owner.owned_since,
                    keys=keep.keys | absorb.keys,
                    tags=keep.tags | absorb.tags,
                    attributes={**absorb.attributes, **keep.attributes},
                    related_reps=owner.related_reps,
                    grade=keep.grade if keep.grade is not None else absorb.grade,
                    last_follow_up_at=_later(keep.last_follow_up_at, absorb.last_follow_up_at),
                    last_follow_up_by_kind=_later_each(
                        keep.last_follow_up_by_kind, absorb.last_follow_up_by_kind
                    ),
                    last_deal_at=_later(keep.last_deal_at, absorb.last_deal_at),
                ),
            )
            self._move_reviews(work, actor, keep, absorb)
            work.uow.commit()
            return merged

    def _move_reviews(self, work: Work, actor: Rep, keep: Customer, absorb: Customer) -> None:
        """Close the pair's review items as merged; move the absorbed customer's others."""
        uow, at = work.uow, work.at
        for item in uow.reviews.find(ReviewStatus.OPEN, absorb.id):
            other = item.similar_id if item.customer_id == absorb.id else item.customer_id
            if other == keep.id:
                uow.reviews.update(_reviews.resolved(item, ReviewStatus.MERGED, actor.id, at))
            elif any(
                uow.reviews.get(_reviews.review_id(*pair))
                for pair in ((keep.id, other), (other, keep.id))
            ):
                # The kept customer already has this pair on the list.
                uow.reviews.update(_reviews.resolved(item, ReviewStatus.CLOSED, actor.id, at))
            else:
                # Moved to the kept customer; the item keeps the id it was filed under.
                moved = {absorb.id: keep.id}
                uow.reviews.update(
                    attrs.evolve(
                        item,
                        customer_id=moved.get(item.customer_id, item.customer_id),
                        similar_id=moved.get(item.similar_id, item.similar_id),
                    )
                )

    def merged_history(self, customer_id: str) -> list[Event]:
        """The customer's history with the histories of every customer merged into it (and
        into those), in time order."""
        with self.store.unit_of_work() as uow:
            pending, events = [customer_id], list[Event]()
            while pending:
                history = uow.events.history(pending.pop())
                if not history and not events:
                    raise CustomerNotFound(customer_id)
                events.extend(history)
                pending.extend(e.absorbed_id for e in history if isinstance(e, Merged))
            events.sort(key=lambda event: (event.at, event.customer_id, event.seq))
            return events
