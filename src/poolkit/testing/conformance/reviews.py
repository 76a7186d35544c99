"""The review repository contract: the list of look-alike customers."""

from __future__ import annotations

import pytest

from poolkit.errors import DuplicateIdError, ReviewNotFound
from poolkit.model.review import ReviewStatus
from poolkit.ports import Store
from poolkit.testing.builders import DAY, NEW_YORK, T0, review


class ReviewConformance:
    """The :class:`~poolkit.ports.ReviewRepository` contract. Subclass with a ``store``
    fixture returning a fresh, empty store."""

    def test_review_items_come_back_equal(self, store: Store) -> None:
        open_item = review("c1~c2", "c1", "c2", T0.astimezone(NEW_YORK), score=91.5)
        resolved = review(
            "c3~c4",
            "c3",
            "c4",
            status=ReviewStatus.MERGED,
            resolved_by="boss",
            resolved_at=T0 + DAY,
            score=100.0,
        )
        with store.unit_of_work() as uow:
            uow.reviews.add(open_item)
            uow.reviews.add(resolved)
            assert uow.reviews.get("c1~c2") == open_item
            uow.commit()
        with store.unit_of_work() as uow:
            stored = uow.reviews.get("c1~c2")
            assert stored == open_item
            assert stored is not None and stored.created_at.tzinfo == NEW_YORK
            assert uow.reviews.get("c3~c4") == resolved
            assert uow.reviews.get("nobody") is None

    def test_a_taken_review_id_is_refused_and_the_first_item_stays(self, store: Store) -> None:
        first = review("c1~c2", "c1", "c2")
        with store.unit_of_work() as uow:
            uow.reviews.add(first)
            uow.commit()
        with store.unit_of_work() as uow:
            with pytest.raises(DuplicateIdError) as refused:
                uow.reviews.add(review("c1~c2", "c3", "c4", T0 + DAY))
            assert refused.value.id == "c1~c2"
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.reviews.get("c1~c2") == first
            assert uow.reviews.find() == [first]

    def test_review_update_replaces_and_refuses_an_unknown_item(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.reviews.add(review("c1~c2", "c1", "c2"))
            uow.commit()
        resolved = review(
            "c1~c2",
            "c1",
            "c2",
            status=ReviewStatus.NOT_SAME,
            resolved_by="boss",
            resolved_at=T0 + DAY,
        )
        with store.unit_of_work() as uow:
            uow.reviews.update(resolved)
            with pytest.raises(ReviewNotFound) as refused:
                uow.reviews.update(review("c3~c4", "c3", "c4"))
            assert refused.value.id == "c3~c4"
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.reviews.get("c1~c2") == resolved
            assert uow.reviews.get("c3~c4") is None
            assert uow.reviews.find(ReviewStatus.OPEN) == []
            assert uow.reviews.find(ReviewStatus.NOT_SAME) == [resolved]

    def test_review_find_filters_and_orders_by_creation_then_id(self, store: Store) -> None:
        # Written in different zones: the order is of instants, not of wall-clock text.
        late = review("a~b", "a", "b", (T0 + 2 * DAY).astimezone(NEW_YORK))
        tie_y = review("y~c", "y", "c", T0 + DAY)
        tie_x = review("x~d", "x", "d", T0 + DAY)
        early = review(
            "c~d",
            "c",
            "d",
            T0,
            status=ReviewStatus.NOT_SAME,
            resolved_by="boss",
            resolved_at=T0 + DAY,
        )
        with store.unit_of_work() as uow:
            for item in (late, tie_y, early, tie_x):
                uow.reviews.add(item)
            uow.commit()
        with store.unit_of_work() as uow:
            find = uow.reviews.find
            assert find() == [early, tie_x, tie_y, late]
            assert find(ReviewStatus.OPEN) == [tie_x, tie_y, late]
            assert find(ReviewStatus.MERGED) == []
            # A customer matches on either side of an item.
            assert find(customer_id="c") == [early, tie_y]
            assert find(customer_id="d") == [early, tie_x]
            assert find(ReviewStatus.OPEN, "d") == [tie_x]
            assert find(customer_id="nobody") == []

    def test_review_find_follows_moved_items(self, store: Store) -> None:
        """A merge moves the open items of the absorbed customer to the kept one."""
        with store.unit_of_work() as uow:
            uow.reviews.add(review("a~b", "a", "b"))
            uow.commit()
        moved = review("a~b", "k", "b")
        with store.unit_of_work() as uow:
            uow.reviews.update(moved)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.reviews.find(customer_id="a") == []
            assert uow.reviews.find(customer_id="k") == [moved]
            assert uow.reviews.find(customer_id="b") == [moved]

    def test_rollback_restores_review_items(self, store: Store) -> None:
        first = review("c1~c2", "c1", "c2")
        with store.unit_of_work() as uow:
            uow.reviews.add(first)
            uow.commit()
        with pytest.raises(RuntimeError, match="boom"), store.unit_of_work() as uow:
            uow.reviews.update(review("c1~c2", "c9", "c2", T0 + DAY))
            uow.reviews.add(review("c3~c4", "c3", "c4"))
            raise RuntimeError("boom")
        with store.unit_of_work() as uow:
            assert uow.reviews.get("c1~c2") == first
            assert uow.reviews.get("c3~c4") is None
            assert uow.reviews.find() == [first]
            assert uow.reviews.find(customer_id="c9") == []
            assert uow.reviews.find(customer_id="c1") == [first]


__all__ = ["ReviewConformance"]
