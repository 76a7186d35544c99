"""A Hypothesis state machine that drives a :class:`~poolkit.service.PoolService` with random
operations and checks it against a simple model of its own.

Run it on your own rule book, team and store::

    from poolkit.testing.statemachine import pool_machine

    TestMyPolicy = pool_machine(policy=my_policy, team=my_team).TestCase

Each example sets up the team, then runs a random sequence of operations by random reps
(many of them without the right to do what they try): creates (private and public, with
identity keys that often collide), follow-ups and deals, claims, assigns, returns,
recycles, transfers, reassignments, pool changes, freezes, restores, deletions, locks,
re-grades and the odd departure, with time jumps from a second to weeks and sweeps in
between. Other steps aim at the boundaries: they jump to exactly a stored drop or warning
time, the end of a cooldown or the moment a claim leaves the limit's window (or a second
either side) and then sweep or claim there, or jump next to a DST change.

What it checks:

- every operation succeeds exactly when the model says it may, and otherwise raises a
  :class:`~poolkit.errors.PoolkitError` of a type the model expects (a rep without the
  right gets :class:`~poolkit.errors.PermissionDenied`, a full private pool
  :class:`~poolkit.errors.CapExceeded`...); a refused operation changes nothing at all;
- the store agrees with the model after every step: who owns what, which customers are
  public, frozen or deleted, and every stored schedule;
- a sweep drops exactly the customers whose deadline (recomputed by the model with plain
  calendar arithmetic) has passed, warns exactly those whose warning is due, leaves no
  private customer overdue, and a second sweep changes nothing;
- invariants over the store and the event log: each live customer is in exactly one
  place; no rep above their cap or claim limit in any window; no drop earlier than its
  deadline; nothing happens to a frozen customer but a restore or a deletion; deleted
  customers never come back; replaying a history rebuilds the stored customer; departed
  reps own nothing.

The model re-derives deadlines from the rule book's words (same local wall time N days
later, or local midnight, in the policy's zone), not from :mod:`poolkit.policy.rules`.
"""

from poolkit.testing.statemachine._machine import MACHINE_SETTINGS, PoolMachine, pool_machine

__all__ = ["MACHINE_SETTINGS", "PoolMachine", "pool_machine"]
