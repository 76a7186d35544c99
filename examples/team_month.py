"""A month in the life of a sales team: poolkit's main job, end to end.

Sets up the team of ``examples/team.toml`` (an admin, a supervisor who manages two public
pools, four reps with caps and claim limits of their own) under the rules of
``examples/policy.toml``, enters 60 customers of mixed grades, then plays 30 days on a
:class:`~poolkit.ManualClock`:

- every morning the reps look at the East China pool (members claim) and fish customers
  out, follow up the customers they own (now and then closing a deal), enter new
  customers (some of them already known: a collision, 撞单) and sometimes give one back;
  the supervisor hands out customers of the VIP pool (manager assigns), which reps cannot
  claim themselves;
- on day 20 one rep leaves, and all their customers drop at once;
- every evening at 18:00 the sweep warns the owners of customers about to drop and drops
  the ones that are due.

Each day prints what moved, every refusal with the error's own sentence (caps, claim
limits, cooldowns, collisions, lost races), and every warning and drop with the reason the
sweep report gives. A seeded ``random.Random`` makes every choice, so the same seed prints
the same month.

Run it from anywhere (the TOML files are found next to this script)::

    python examples/team_month.py                      # seed 7, 30 days, in memory
    python examples/team_month.py --seed 3 --days 12
    python examples/team_month.py --db month.sqlite    # the same month, stored in SQLite
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path

from poolkit import (
    FollowUpKind,
    ManualClock,
    MemoryStore,
    Policy,
    PoolkitError,
    PoolService,
    SweepReport,
    Team,
)
from poolkit.errors import CapExceeded, ClaimLimitExceeded, WrongStateError
from poolkit.ports import Store

HERE = Path(__file__).resolve().parent
FIRST_DAY = date(2026, 3, 2)  # a Monday
REPS = ("li", "chen", "wu", "sun")
DEPARTURE = (20, "wu")
# The share of their customers each rep follows up on a given day. Li works a few accounts
# closely; Wu lets things slide, which is what drop rules are for.
DILIGENCE = {"li": 0.55, "chen": 0.3, "wu": 0.05, "sun": 0.2}
GRADES = ("A", "B", "C", "D", "E")
GRADE_WEIGHTS = (1, 2, 4, 3, 2)
CITIES = ("Suzhou", "Hangzhou", "Ningbo", "Wuxi", "Nanjing", "Hefei", "Shanghai", "Wenzhou")
TRADES = ("Textiles", "Machinery", "Packaging", "Electronics", "Logistics", "Ceramics")
CONTACTS = (FollowUpKind.CALL, FollowUpKind.VISIT, FollowUpKind.EMAIL, FollowUpKind.MESSAGE)


def phone(number: int) -> str:
    return f"+86138{number:08d}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class Month:
    """The simulated team: a service on a manual clock, and what happened today."""

    def __init__(self, store: Store, seed: int) -> None:
        self.policy = Policy.from_toml(HERE / "policy.toml")
        self.rng = random.Random(seed)
        self.clock = ManualClock(self.at(1, 8))
        numbers = iter(range(1, 1_000_000))
        # Sequential ids instead of random ones, so two runs print the same ids.
        self.service = PoolService(
            store, self.policy, self.clock, new_id=lambda: f"n{next(numbers):03d}"
        )
        self.counts: Counter[str] = Counter()
        self.lines: list[str] = []

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        """Local wall time on simulated ``day`` (1 is the first), in the policy's zone."""
        when = FIRST_DAY + timedelta(days=day - 1)
        # Adding minutes to an aware datetime moves its wall time, as a timetable means.
        return datetime.combine(when, time(hour), tzinfo=self.policy.zone) + timedelta(
            minutes=minute
        )

    def setup(self, customers: int) -> list[str]:
        self.service.setup(Team.from_toml(HERE / "team.toml"))
        for number in range(1, customers + 1):
            is_vip = self.rng.random() < 0.15
            keys = {"phone": phone(number)}
            if self.rng.random() < 0.3:
                keys["email"] = f"buyer{number}@example.com"
            self.service.create(
                "admin",
                f"{self.rng.choice(CITIES)} {self.rng.choice(TRADES)} Co. #{number:02d}",
                customer_id=f"c{number:03d}",
                keys=keys,
                grade=self.rng.choices(GRADES, GRADE_WEIGHTS)[0],
                # The policy's routing sends tier=vip customers to the VIP pool.
                attributes={"tier": "vip" if is_vip else "standard"},
                public=True,
            )
        east = len(self.service.public_pool("east"))
        vip = len(self.service.public_pool("vip"))
        return [f"Set up: {customers} customers entered, {east} in pool east, {vip} in pool vip"]

    # ------------------------------------------------------------------ one day

    def day(self, day: int) -> list[str]:
        self.counts = Counter()
        self.lines = []
        self.clock.set(self.at(day, 9))
        still_here = {rep.id for rep in self.service.reps() if rep.active}
        active = [rep for rep in REPS if rep in still_here]
        # Everyone opens the East China pool at nine: reps racing for the same customer
        # is part of a normal morning.
        board = [customer.id for customer in self.service.public_pool("east")]
        order = self.rng.sample(active, len(active))
        for slot, rep in enumerate(order):
            self.clock.set(self.at(day, 9, 20 * slot))
            self.rep_morning(rep, board)
        self.clock.set(self.at(day, 11))
        self.supervisor_hands_out(active)
        if day == DEPARTURE[0] and DEPARTURE[1] in active:
            self.clock.set(self.at(day, 17))
            report = self.service.depart("admin", DEPARTURE[1])
            self.lines.append(
                f"   departed {report.rep_id}: {len(report.dropped)} customers dropped at once"
            )
        self.clock.set(self.at(day, 18))
        sweep = self.service.sweep()
        head = self.headline(day, sweep)
        return [head, *self.lines, *self.sweep_lines(sweep)]

    def rep_morning(self, rep: str, board: Sequence[str]) -> None:
        rng = self.rng
        for customer_id in rng.sample(list(board), min(len(board), rng.randint(0, 3))):
            error = self.attempt(rep, partial(self.service.claim, rep, customer_id), "claimed")
            if isinstance(error, CapExceeded) and rng.random() < 0.5:
                # The cap says "release one first": give back the customer that has waited
                # longest for a follow-up, to make room tomorrow.
                self.make_room(rep)
            if isinstance(error, CapExceeded | ClaimLimitExceeded):
                break  # told no for today; try again tomorrow
        vip_waiting = self.service.public_pool("vip")
        if vip_waiting and rng.random() < 0.05:
            target = rng.choice(vip_waiting).id
            self.attempt(rep, lambda: self.service.claim(rep, target), "claimed")
        for customer in self.service.private_pool(rep):
            if rng.random() >= DILIGENCE[rep]:
                continue
            deal = rng.random() < 0.1
            kind = FollowUpKind.DEAL if deal else rng.choice(CONTACTS)
            self.service.follow_up(rep, customer.id, kind)
            self.counts["follow-ups"] += 1
            self.counts["deals"] += deal
        if rng.random() < 0.2:
            # A rep met a prospect at a trade fair; two times in five it is someone the
            # team already knows, and the collision check says who follows them.
            known = rng.random() < 0.4
            number = rng.randint(1, 60) if known else rng.randint(1000, 99_999_999)
            self.attempt(
                rep,
                lambda: self.service.create(
                    rep,
                    f"{rng.choice(CITIES)} {rng.choice(TRADES)} Trading",
                    keys={"phone": phone(number)},
                    grade=rng.choices(GRADES, GRADE_WEIGHTS)[0],
                ),
                "entered",
            )
        owned = self.service.private_pool(rep)
        if owned and rng.random() < 0.04:
            self.give_back(rep, rng.choice(owned).id, "no budget this year")

    def make_room(self, rep: str) -> None:
        owned = self.service.private_pool(rep)
        stalest = min(owned, key=lambda c: (c.last_follow_up_at or c.created_at, c.id))
        self.give_back(rep, stalest.id, "making room under the cap")

    def give_back(self, rep: str, customer_id: str, reason: str) -> None:
        self.service.return_to_pool(rep, customer_id, reason)
        self.counts["returned"] += 1
        self.lines.append(f"   returned {customer_id} ({rep}): {reason}")

    def supervisor_hands_out(self, active: Sequence[str]) -> None:
        waiting = self.service.public_pool("vip")
        for customer in waiting[: self.rng.randint(0, 2)]:
            # A customer goes to someone new: its former owners already had their chance.
            fresh = [rep for rep in active if rep not in customer.related_reps]
            target = self.rng.choice(fresh or list(active))
            self.attempt(
                "zhao", partial(self.service.assign, "zhao", customer.id, target), "assigned"
            )

    def attempt(self, rep: str, action: Callable[[], object], counted: str) -> PoolkitError | None:
        """Run one operation and count it, or print the sentence of the error that refused it
        and return that error."""
        try:
            action()
        except WrongStateError as error:
            # Someone else was quicker this morning: the error names the winner.
            self.lines.append(f"   lost race ({rep}): {error}")
            return error
        except PoolkitError as error:
            self.lines.append(f"   refused  ({rep}) {type(error).__name__}: {error}")
            return error
        self.counts[counted] += 1
        return None

    def headline(self, day: int, sweep: SweepReport) -> str:
        c = self.counts
        weekday = self.at(day, 9).strftime("%a %Y-%m-%d")
        return (
            f"Day {day:2d} {weekday}: {c['claimed']} claimed, {c['assigned']} assigned, "
            f"{c['returned']} returned, {c['entered']} entered, "
            f"{plural(c['follow-ups'], 'follow-up')} ({plural(c['deals'], 'deal')}); "
            f"sweep: {len(sweep.warned)} warned, {len(sweep.dropped)} dropped"
        )

    def sweep_lines(self, sweep: SweepReport) -> list[str]:
        lines = [
            f"   warned   {item.customer_id} ({item.rep_id}) {item.message}"
            for item in sweep.warned
        ]
        # A drop's message starts "dropped: ", which the line already says.
        lines += [
            f"   dropped  {item.customer_id} ({item.rep_id}) "
            f"{item.message.removeprefix('dropped: ')}"
            for item in sweep.dropped
        ]
        return lines

    # ------------------------------------------------------------------ the end

    def summary(self) -> list[str]:
        lines = ["", "Where the customers are now:"]
        reps = {rep.id: rep for rep in self.service.reps()}
        for rep_id in REPS:
            rep = reps[rep_id]
            held = len(self.service.private_pool(rep_id))
            if not rep.active:
                lines.append(f"   {rep_id:6s} departed")
                continue
            cap = self.policy.cap_for(rep_id, rep.cap)
            lines.append(f"   {rep_id:6s} holds {held:2d} (cap {cap})")
        for pool in self.service.pools():
            lines.append(
                f"   pool {pool.id:4s} {len(self.service.public_pool(pool.id)):2d} waiting"
            )
        ahead = self.service.forecast(self.clock.now() + timedelta(days=7))
        drops = [item for item in ahead if item.action == "drop"]
        lines += [
            "",
            f"The week ahead, if nobody follows up: {len(ahead) - len(drops)} warnings, "
            f"{len(drops)} drops",
        ]
        for item in drops[:5]:
            stamp = item.at.astimezone(self.policy.zone).strftime("%m-%d %H:%M")
            lines.append(f"   {stamp} {item.customer_id} ({item.owner_id}) {item.message}")
        # The customer that moved most: its history shows how it was worked and where
        # it stalled, which is what the next owner reads before calling.
        ids = sorted(c.id for c in self.service.visible_to("admin"))
        story = max(ids, key=lambda cid: (self.moves(cid), cid))
        lines += ["", f"The story of {story}:"]
        for event in self.service.history(story):
            stamp = event.at.astimezone(self.policy.zone).strftime("%m-%d %H:%M")
            lines.append(f"   {stamp} {event.describe()}")
        return lines

    def moves(self, customer_id: str) -> int:
        """How often the customer changed hands or was warned (follow-ups aside)."""
        return sum(1 for e in self.service.history(customer_id) if e.kind != "followed_up")


def play(store: Store, seed: int, days: int) -> None:
    month = Month(store, seed)
    for line in month.setup(60):
        print(line)
    for day in range(1, days + 1):
        for line in month.day(day):
            print(line)
    for line in month.summary():
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--days", type=int, default=30, help="days to play (default 30)")
    parser.add_argument("--db", metavar="PATH", help="store in a new SQLite file at PATH")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    if not args.db:
        play(MemoryStore(), args.seed, args.days)
        return 0
    if Path(args.db).exists():
        # The month starts from an empty team; refusing beats mixing two months in one file.
        parser.error(f"{args.db} exists; give the path of a new database file")
    # Imported only here, so the in-memory run needs nothing beyond the core.
    from poolkit.stores.sqlite import SqliteStore

    store = SqliteStore(args.db)
    try:
        play(store, args.seed, args.days)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
