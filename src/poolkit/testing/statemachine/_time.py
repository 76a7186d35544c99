"""Time and sweeps: jumps of a second to weeks, jumps to the instants where a rule changes
its answer (or next to a DST change), and sweeps checked against the model's deadlines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from poolkit.errors import InvalidValueError
from poolkit.model.schedule import Schedule
from poolkit.testing import strategies as pst
from poolkit.testing.statemachine._draws import either, one_of
from poolkit.testing.statemachine._operations import Operations
from poolkit.testing.statemachine._reference import (
    PRIVATE,
    PUBLIC,
    Due,
    days_later,
    same_instant,
    utc,
)


class TimeAndSweeps(Operations):
    """Steps that move the clock, some of them followed by a sweep or a claim."""

    @rule(
        seconds=st.one_of(
            st.integers(1, 59),
            st.integers(60, 3_600),
            st.integers(3_600, 86_400),
            st.integers(86_400, 21 * 86_400),
            st.sampled_from((86_400, 7 * 86_400)),
        )
    )
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    def _jump(self, target: datetime) -> bool:
        """Move the clock forward to ``target``, keeping its zone; False if it is not ahead."""
        if utc(target) <= utc(self.now):
            return False
        self.clock.set(utc(target).astimezone(self.clock.now().tzinfo))
        return True

    def _stored_times(self) -> list[datetime]:
        """Every drop and warning instant the store has scheduled."""
        times: list[datetime] = []
        with self.store.unit_of_work() as uow:
            for customer_id in uow.customers.ids():
                plan = uow.customers.schedule_of(customer_id) or Schedule()
                times += [utc(t) for t in (plan.drop_at, plan.warn_at) if t is not None]
        return times

    def _cooldown_ends(self) -> list[tuple[str, str, datetime]]:
        """(customer, rep, when the rep may claim it back) for every related rep."""
        days = self.rule_book.cooldown_days
        if not days:
            return []
        return [
            (customer_id, rep_id, days_later(left, days, self.rule_book.zone))
            for customer_id, expected in sorted(self.model.items())
            for rep_id, left in sorted(expected.related.items())
        ]

    def _window_ends(self) -> list[tuple[str, datetime]]:
        """(rep, when one of their claims stops counting against the limit)."""
        window = self.rule_book.claim_limit.window_days
        return [
            (rep_id, days_later(t, window, self.rule_book.zone))
            for rep_id, times in sorted(self.claims.items())
            for t in times
        ]

    def _ahead(self, times: Iterable[datetime], offset: int) -> list[datetime]:
        now = utc(self.now)
        return sorted(
            {t + timedelta(seconds=offset) for t in times if t + timedelta(seconds=offset) > now}
        )

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), offset=st.sampled_from((-1, 0, 1)))
    def jump_to_a_turning_point(self, data: st.DataObject, offset: int) -> None:
        """To exactly an instant where a rule changes its answer (a stored drop or warning,
        the end of a cooldown, a claim leaving the limit's window), or a second either side."""
        points = [
            *self._stored_times(),
            *(end for _, _, end in self._cooldown_ends()),
            *(end for _, end in self._window_ends()),
        ]
        targets = self._ahead(points, offset)
        if targets:
            self._jump(data.draw(one_of(*targets), label="jump to"))

    @precondition(lambda self: any(e.status is PRIVATE for e in self.model.values()))
    @rule(data=st.data(), offset=st.sampled_from((-1, 0, 1)))
    def sweep_at_a_deadline(self, data: st.DataObject, offset: int) -> None:
        """Jump to a stored drop or warning time (or a second either side) and sweep."""
        targets = self._ahead(self._stored_times(), offset)
        if targets:
            self._jump(data.draw(one_of(*targets), label="jump to"))
        self.sweep(future=1)

    @precondition(lambda self: bool(self._cooldown_ends()))
    @rule(data=st.data(), offset=st.sampled_from((-1, 0, 1)))
    def claim_back_as_the_cooldown_ends(self, data: st.DataObject, offset: int) -> None:
        """A rep who lost a customer tries to claim it back a second before, at, or a
        second after their cooldown ends."""
        choices = [c for c in self._cooldown_ends() if self._ahead([c[2]], offset)]
        # Where the boundary decides: a claimable customer and a rep who may claim from its pool.
        telling = [
            (customer, rep, end)
            for customer, rep, end in choices
            if self._claimable(self.model[customer])
            and self._sees_pool(rep, self.model[customer].pool)
        ]
        if not choices:
            return
        pick = either(tuple(telling), tuple(choices))
        customer, rep, end = data.draw(pick, label="customer, rep, ends")
        self._jump(end + timedelta(seconds=offset))
        self._claim(data, customer, rep)

    @precondition(lambda self: bool(self.claims) and any(map(self._claimable, self.model.values())))
    @rule(data=st.data(), offset=st.sampled_from((-1, 0, 1)))
    def claim_as_a_claim_leaves_the_window(self, data: st.DataObject, offset: int) -> None:
        """A rep claims again a second before, at, or a second after one of their claims
        stops counting against their claim limit."""
        choices = [c for c in self._window_ends() if self._ahead([c[1]], offset)]
        # Where the boundary decides: the rep is at their limit just before the claim leaves.
        telling = [
            (rep, end)
            for rep, end in choices
            if (limit := self._claim_limit(rep)) is not None
            and self._claims_in_window(self.claims[rep], end - timedelta(microseconds=1)) >= limit
        ]
        if not choices:
            return
        pick = either(tuple(telling), tuple(choices))
        rep, end = data.draw(pick, label="rep, window ends")
        self._jump(end + timedelta(seconds=offset))
        claimable = sorted(cid for cid, e in self.model.items() if self._claimable(e))
        if claimable:
            self._claim(data, data.draw(one_of(*claimable), label="customer"), rep)

    @precondition(
        lambda self: bool(self.model) and bool(pst.dst_transitions(self.rule_book.zone, 2020, 2035))
    )
    @rule(data=st.data(), offset=st.integers(-7_200, 7_200) | st.sampled_from((-1, 0, 1)))
    def jump_next_to_a_dst_change(self, data: st.DataObject, offset: int) -> None:
        now = utc(self.now)
        ahead = [
            t + timedelta(seconds=offset)
            for t in pst.dst_transitions(self.rule_book.zone, now.year, now.year + 1)
        ]
        ahead = [t for t in ahead if now < t <= now + timedelta(days=200)]
        if ahead:
            self.clock.set(ahead[0].astimezone(self.clock.now().tzinfo))

    @precondition(lambda self: bool(self.model))
    @rule(future=st.integers(0, 3))
    def sweep(self, future: int) -> None:
        now = self.now
        if future == 0:
            later = utc(now) + timedelta(seconds=1)
            self._attempt(
                {InvalidValueError}, "sweep of the future", lambda: self.service.sweep(later)
            )
        drops: dict[str, Due] = {}
        warnings: dict[str, Due] = {}
        for customer_id, expected in self.model.items():
            dues = expected.dues(self.rule_book)
            if not dues:
                continue
            first = dues[0]
            if first.due_at <= utc(now):
                drops[customer_id] = first
            elif (
                first.warn_at is not None
                and first.warn_at <= utc(now)
                and not same_instant(expected.warned_due, first.due_at)
            ):
                warnings[customer_id] = first
        report = self._attempt(set(), "sweep", self.service.sweep)
        assert report is not None
        got_drops = {item.customer_id: item for item in report.dropped}
        got_warnings = {item.customer_id: item for item in report.warned}
        assert set(got_drops) == set(drops), (
            f"sweep at {now} dropped {sorted(got_drops)}, the model expected {sorted(drops)}"
        )
        assert set(got_warnings) == set(warnings), (
            f"sweep at {now} warned {sorted(got_warnings)}, the model expected {sorted(warnings)}"
        )
        for customer_id, item in [*got_drops.items(), *got_warnings.items()]:
            due = drops.get(customer_id) or warnings[customer_id]
            assert item.rule == due.rule.name, (customer_id, item.rule, due.rule.name)
            assert same_instant(item.due_at, due.due_at), (customer_id, item.due_at, due.due_at)
        for customer_id in drops:
            self.model[customer_id].release(now, PUBLIC)
        for customer_id, due in warnings.items():
            self.model[customer_id].warned_due = due.due_at
        for customer_id, expected in self.model.items():
            dues = expected.dues(self.rule_book)
            assert not dues or dues[0].due_at > utc(now), f"{customer_id} overdue after a sweep"
        again = self.service.sweep()
        assert not again.changed, f"a second sweep at {now} changed {again}"
