"""Check a rule book before it goes live: what would it do to one customer, and why?

Loads a policy (``examples/policy.toml`` unless ``--policy`` names another file), builds
one private customer by hand, and asks the rule engine about it. No store, no service and
no clock are involved: the rules are pure functions of (customer, policy, instant), which
is what makes a dry run like this possible. It prints

- every drop deadline that applies to the customer, earliest first, with its warning
  time, its reason code and its sentence;
- the schedule a store would keep for the customer (when a sweep must look at it next);
- the decision of ``evaluate_drop`` at three instants: before the warning, one second
  before the deadline, and exactly at the deadline (a customer is due *at* its deadline).

Run:  python examples/custom_policy_check.py [--policy PATH] [--grade C] [--deal]

``--grade`` picks the customer's grade (try A: no rule watches it until its first deal),
``--deal`` gives it a deal five days after it was taken, which brings the repeat-deal rule
into play.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from poolkit import Customer, CustomerStatus, Policy, rules

HERE = Path(__file__).resolve().parent


def show(at: datetime | None, policy: Policy) -> str:
    if at is None:
        return "-"
    return at.astimezone(policy.zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default=str(HERE / "policy.toml"), help="a policy TOML file")
    parser.add_argument("--grade", default="C", help="the customer's grade (default C)")
    parser.add_argument("--deal", action="store_true", help="give the customer a deal on day 5")
    args = parser.parse_args(argv)

    policy = Policy.from_toml(args.policy)
    print(
        f"Policy {Path(args.policy).name}: {len(policy.drop_rules)} drop rules, "
        f"time zone {policy.timezone}, deadlines {policy.drop_time.value}"
    )

    # Taken from the public pool on a Monday morning, called two days later; a deal is a
    # follow-up too, so with --deal the last follow-up is the deal.
    taken = datetime(2026, 3, 2, 10, 30, tzinfo=policy.zone)
    deal = taken + timedelta(days=5) if args.deal else None
    customer = Customer(
        id="c001",
        name="Suzhou Textiles Co.",
        pool_id="east",
        created_at=taken - timedelta(days=40),
        status=CustomerStatus.PRIVATE,
        owner_id="li",
        owned_since=taken,
        grade=args.grade,
        last_follow_up_at=deal or taken + timedelta(days=2),
        last_deal_at=deal,
    )
    print(f"Customer {customer.id}, grade {customer.grade}, {customer.where}")
    print(f"  taken {show(customer.owned_since, policy)}")
    print(f"  last follow-up {show(customer.last_follow_up_at, policy)}")
    print(f"  last deal {show(customer.last_deal_at, policy)}")

    deadlines = rules.deadlines(customer, policy)
    print("Deadlines, earliest first:")
    for deadline in deadlines:
        print(f"  {deadline.rule.name}: due {show(deadline.due_at, policy)}")
        print(f"    warning {show(deadline.warn_at, policy)}; {deadline.code.value}")
        print(f"    {deadline.message}")
    if not deadlines:
        print("  none: no drop rule watches this customer")

    plan = rules.schedule(customer, policy)
    print(f"Schedule: warn at {show(plan.warn_at, policy)}, drop at {show(plan.drop_at, policy)}")

    first = rules.next_drop(customer, policy)
    if first is None:
        instants = [taken + timedelta(days=days) for days in (1, 30, 365)]
    else:
        early = first.warn_at or first.due_at
        instants = [
            early - timedelta(days=1),
            first.due_at - timedelta(seconds=1),
            first.due_at,
        ]
    print("evaluate_drop:")
    for at in instants:
        decision = rules.evaluate_drop(customer, policy, at)
        verdict = "DROP" if decision.allowed else "stay"
        warning = rules.warning_due(customer, policy, at)
        warn = "; a warning is due" if warning is not None else ""
        print(f"  at {show(at, policy)}: {verdict} ({decision.code.value}){warn}")
        print(f"    {decision.message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
