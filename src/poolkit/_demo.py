"""A simulated sales team, to watch the pool rules at work.

:func:`simulate` sets up a team (a supervisor, reps with personal caps, a members-claim pool
and a manager-assigns pool), fills the pools with a few hundred customers of mixed grades,
then plays a few weeks on a simulated clock: reps claim, follow up and close deals, create
customers (some colliding with existing ones), run into caps and claim limits; the VIP pool
hands its customers out itself (automatic assignment, least loaded first: new ones, those
dropped back into it, and those of the rep who leaves), and its manager distributes any
left waiting; one rep leaves; every evening the sweep drops and warns. It yields one summary per
day. A seeded random generator makes it repeatable: same seed, same story.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import attrs

from poolkit.clock import Clock, ManualClock
from poolkit.errors import (
    CapExceeded,
    ClaimLimitExceeded,
    CollisionError,
    CooldownActive,
    PoolkitError,
    WrongStateError,
)
from poolkit.model.events import FollowUpKind
from poolkit.model.team import Team
from poolkit.policy.config import Policy
from poolkit.ports import Store
from poolkit.service import PoolService

# Makes the service of a simulation: (store, policy, clock, new_id) -> service.
OpenService = Callable[[Store, Policy, Clock, Callable[[], str]], PoolService]

ZONE = "Asia/Shanghai"
START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo(ZONE))

DEMO_POLICY: dict[str, object] = {
    "timezone": ZONE,
    "drop_time": "exact",
    "drop_rules": [
        {
            "name": "B-no-follow-up-25d",
            "kind": "no_follow_up",
            "days": 25,
            "warn_days": 3,
            "grades": ["B"],
        },
        {
            "name": "CD-no-follow-up-10d",
            "kind": "no_follow_up",
            "days": 10,
            "warn_days": 2,
            "grades": ["C", "D"],
        },
        {
            "name": "E-no-follow-up-40d",
            "kind": "no_follow_up",
            "days": 40,
            "warn_days": 5,
            "grades": ["E"],
        },
        {
            "name": "no-first-deal-30d",
            "kind": "no_first_deal",
            "days": 30,
            "warn_days": 3,
            "grades": ["C", "D"],
        },
        {"name": "no-repeat-deal-90d", "kind": "no_repeat_deal", "days": 90, "warn_days": 7},
    ],
    "caps": {"default": 30},
    "claim_limit": {"max_claims": 5, "window_days": 7},
    "cooldown": {"days": 7},
    "collision": {"keys": ["phone", "uscc", "email"]},
    "routing": [{"attribute": "tier", "equals": "vip", "pool": "vip"}],
    "assignment": [
        {"pool": "vip", "strategy": "least_loaded", "on": ["created", "dropped", "departed"]}
    ],
}

DEMO_TEAM: dict[str, object] = {
    "reps": [
        {"id": "admin", "name": "Admin", "admin": True},
        {"id": "zhao", "name": "Zhao (supervisor)", "cap": 5},
        {"id": "li", "name": "Li (few big accounts)", "supervisor": "zhao", "cap": 10},
        {"id": "chen", "name": "Chen (many small deals)", "supervisor": "zhao", "cap": 40},
        {"id": "wu", "name": "Wu", "supervisor": "zhao"},
        {"id": "sun", "name": "Sun", "supervisor": "zhao", "claim_limit": 3},
    ],
    "pools": [
        {
            "id": "east",
            "name": "East China (members claim)",
            "mode": "members_claim",
            "default": True,
            "managers": ["zhao"],
            "members": ["li", "chen", "wu", "sun"],
        },
        {
            "id": "vip",
            "name": "VIP (assigned automatically, least loaded first)",
            "mode": "manager_assigns",
            "managers": ["zhao"],
            "members": ["li", "chen", "wu", "sun"],
        },
    ],
}

REPS = ("li", "chen", "wu", "sun")
# How often each rep follows up a customer they own on a given day: Li works few accounts
# closely, Wu lets things slide, which is what the drop rules are for.
DILIGENCE = {"li": 0.5, "chen": 0.15, "wu": 0.05, "sun": 0.1}
CITIES = ("Suzhou", "Hangzhou", "Ningbo", "Wuxi", "Nanjing", "Hefei", "Shanghai", "Wenzhou")
TRADES = ("Textiles", "Machinery", "Packaging", "Electronics", "Logistics", "Ceramics", "Foods")
GRADES = ("B", "C", "D", "E")
GRADE_WEIGHTS = (2, 4, 3, 2)


@attrs.frozen
class DaySummary:
    day: int
    date: str
    counts: dict[str, int] = attrs.field(hash=False)
    notes: tuple[str, ...]

    def lines(self) -> list[str]:
        c = self.counts
        head = (
            f"Day {self.day:2d} {self.date}: {c['claims']} claims, {c['assigns']} assigned, "
            f"{c['auto']} assigned automatically, "
            f"{c['follow_ups']} follow-ups ({c['deals']} deals), {c['creates']} created; "
            f"refused: {c['cap']} at cap, {c['limit']} at claim limit, "
            f"{c['cooldown']} in cooldown, "
            f"{c['collisions']} collisions, {c['lost_races']} already taken; "
            f"sweep: {c['warned']} warned, {c['dropped']} dropped"
        )
        return [head, *(f"    {note}" for note in self.notes)]


def setup(service: PoolService, rng: random.Random, customers: int) -> None:
    service.setup(Team.from_dict(DEMO_TEAM))
    for number in range(1, customers + 1):
        vip = rng.random() < 0.15
        service.create(
            "admin",
            f"{rng.choice(CITIES)} {rng.choice(TRADES)} Co. #{number:03d}",
            customer_id=f"c{number:04d}",
            keys={"phone": _phone(number)},
            grade=rng.choices(GRADES, GRADE_WEIGHTS)[0],
            attributes={"tier": "vip" if vip else "standard", "source": "trade fair"},
            public=True,
        )


def _phone(number: int) -> str:
    return f"+86138{number:08d}"


def _service(store: Store, policy: Policy, clock: Clock, new_id: Callable[[], str]) -> PoolService:
    return PoolService(store, policy, clock, new_id=new_id)


def simulate(
    store: Store,
    *,
    seed: int = 7,
    days: int = 21,
    customers: int = 300,
    open_service: OpenService = _service,
) -> Iterator[DaySummary]:
    """Play ``days`` days of a team's work on ``store`` and yield what happened each day.

    ``open_service`` makes the service on ``store`` under the demo's policy (the command
    line passes the one that keeps the policy in its database)."""
    rng = random.Random(seed)
    clock = ManualClock(START)
    counter = iter(range(1, 1 << 30))
    service = open_service(
        store, Policy.from_dict(DEMO_POLICY), clock, lambda: f"n{next(counter):04d}"
    )
    setup(service, rng, customers)
    departed: set[str] = set()
    for day in range(1, days + 1):
        clock.set(START + timedelta(days=day))
        counts: Counter[str] = Counter()
        notes: list[str] = []
        active = [rep for rep in REPS if rep not in departed]
        for rep in active:
            _work_day(service, rng, rep, counts, notes)
        _manager_assigns(service, rng, active, counts, notes)
        if day == 10 and "wu" in active:
            _depart(service, "wu", counts, notes)
            departed.add("wu")
        clock.set(START + timedelta(days=day, hours=9))  # 18:00, the evening sweep
        _evening_sweep(service, counts, notes)
        for key in _COUNTED:
            counts.setdefault(key, 0)
        yield DaySummary(day, clock.now().date().isoformat(), dict(counts), tuple(notes))


# Every count a day reports, zero on a day it did not happen.
_COUNTED = (
    "claims",
    "assigns",
    "auto",
    "follow_ups",
    "deals",
    "creates",
    "cap",
    "limit",
    "cooldown",
    "collisions",
    "lost_races",
)


def _depart(service: PoolService, rep_id: str, counts: Counter[str], notes: list[str]) -> None:
    report = service.depart("admin", rep_id)
    handed = [a for a in report.assigned if a.rep_id is not None]
    counts["auto"] += len(handed)
    notes.append(
        f"{rep_id} departed: {len(report.dropped)} customers dropped to the public pool at once, "
        f"{len(handed)} VIP customers handed on to colleagues"
    )
    notes.extend(
        f"{a.customer_id} of {rep_id} assigned to {a.rep_id}: {a.reason}" for a in handed[:2]
    )
    left = [a for a in report.assigned if a.rep_id is None]
    if left:
        notes.append(f"{len(left)} VIP customers of {rep_id} stay in the pool: {left[0].reason}")


def _evening_sweep(service: PoolService, counts: Counter[str], notes: list[str]) -> None:
    """Sweep, count the warnings and drops, and note the first few of each."""
    sweep = service.sweep()
    counts["warned"] = len(sweep.warned)
    counts["dropped"] = len(sweep.dropped)
    handed = [a for a in sweep.assigned if a.rep_id is not None]
    counts["auto"] += len(handed)
    notes.extend(
        f"dropped VIP {a.customer_id} assigned to {a.rep_id} at once: {a.reason}"
        for a in handed[:2]
    )
    notes.extend(
        f"dropped {item.customer_id} from {item.rep_id}: {item.message}"
        for item in sweep.dropped[:4]
    )
    if len(sweep.dropped) > 4:
        notes.append(f"... and {len(sweep.dropped) - 4} more dropped")
    notes.extend(
        f"warned {item.rep_id} about {item.customer_id}: {item.message}"
        for item in sweep.warned[:2]
    )


def _attempt(
    action: Callable[[], object], counts: Counter[str], notes: list[str], success: str
) -> bool:
    """Run one operation, counting its success or the rule that refused it."""
    try:
        action()
    except CapExceeded as error:
        counts["cap"] += 1
        if counts["cap"] == 1:
            notes.append(f"refused: {error}")
        return False
    except ClaimLimitExceeded as error:
        counts["limit"] += 1
        if counts["limit"] == 1:
            notes.append(f"refused: {error}")
        return False
    except CooldownActive as error:
        counts["cooldown"] += 1
        notes.append(f"refused: {error}")
        return False
    except CollisionError as error:
        counts["collisions"] += 1
        notes.append(f"collision: {error}")
        return False
    except WrongStateError:
        counts["lost_races"] += 1
        return False
    except PoolkitError as error:
        notes.append(f"refused: {error}")
        return False
    counts[success] += 1
    return True


def _work_day(
    service: PoolService, rng: random.Random, rep: str, counts: Counter[str], notes: list[str]
) -> None:
    public = service.public_pool("east")
    for customer in rng.sample(public, min(len(public), rng.randint(0, 3))):
        _attempt(partial(service.claim, rep, customer.id), counts, notes, "claims")
    for customer in service.private_pool(rep):
        if rng.random() < DILIGENCE[rep]:
            deal = rng.random() < 0.08
            kind = (
                FollowUpKind.DEAL
                if deal
                else rng.choice((FollowUpKind.CALL, FollowUpKind.VISIT, FollowUpKind.EMAIL))
            )
            if (
                _attempt(
                    partial(service.follow_up, rep, customer.id, kind),
                    counts,
                    notes,
                    "follow_ups",
                )
                and deal
            ):
                counts["deals"] += 1
    if rng.random() < 0.25:
        number = rng.randint(1, 400) if rng.random() < 0.4 else rng.randint(100_000, 999_999)
        _attempt(
            lambda: service.create(
                rep,
                f"{rng.choice(CITIES)} {rng.choice(TRADES)} Trading",
                keys={"phone": _phone(number)},
                grade=rng.choices(GRADES, GRADE_WEIGHTS)[0],
            ),
            counts,
            notes,
            "creates",
        )
    owned = service.private_pool(rep)
    if owned and rng.random() < 0.05:
        customer = rng.choice(owned)
        service.return_to_pool(rep, customer.id, "no budget this year")
        notes.append(f"{rep} returned {customer.id}: no budget this year")


def _manager_assigns(
    service: PoolService,
    rng: random.Random,
    active: list[str],
    counts: Counter[str],
    notes: list[str],
) -> None:
    """VIP customers nobody could take when they came in (everyone at the cap, or in the
    cooldown) wait in the pool; the manager hands out a few by hand, and distributes the
    rest by the pool's strategy now and then."""
    waiting = service.public_pool("vip")
    for customer in waiting[: rng.randint(0, 2)]:
        target = rng.choice(active)
        _attempt(partial(service.assign, "zhao", customer.id, target), counts, notes, "assigns")
    if service.public_pool("vip") and rng.random() < 0.3:
        done = service.distribute("zhao", "vip")
        handed = sum(1 for a in done if a.rep_id is not None)
        counts["assigns"] += handed
        left = [a for a in done if a.rep_id is None]
        why = f"; the others wait: {left[0].reason}" if left else ""
        notes.append(f"zhao distributed the VIP pool: {handed} of {len(done)} handed out{why}")


def final_state(service: PoolService) -> dict[str, int]:
    """How many customers are where, at the end."""
    counts: Counter[str] = Counter()
    for rep in service.reps():
        owned = len(service.private_pool(rep.id))
        if owned:
            counts[rep.id] = owned
    for pool in service.pools():
        waiting = len(service.public_pool(pool.id))
        if waiting:
            counts[f"pool {pool.id}"] = waiting
    frozen = len(service.recycle_bin())
    if frozen:
        counts["recycle bin"] = frozen
    return dict(sorted(counts.items()))
