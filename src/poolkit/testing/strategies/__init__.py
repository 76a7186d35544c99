"""Hypothesis strategies for poolkit's domain values, to build your own property tests from.

Every strategy here yields values that poolkit accepts: a :func:`teams` value passes
:class:`~poolkit.model.team.Team`'s checks, a :func:`policies` value loads back through
:meth:`Policy.from_dict <poolkit.policy.config.Policy.from_dict>`, a :func:`histories` log
replays. Times are always timezone-aware and come from several zones, including ones with
half- and quarter-hour offsets, and they cluster around daylight-saving transitions, where
calendar arithmetic goes wrong first.

Hypothesis is an optional dependency of poolkit: only :mod:`poolkit.testing` imports it.

    from hypothesis import given
    from poolkit.testing import strategies as pst

    @given(pst.policies(), pst.customers(statuses=[CustomerStatus.PRIVATE]))
    def test_never_due_before_the_deadline(policy, customer): ...
"""

from poolkit.testing.strategies._customers import GRADES, customers, follow_up_kinds
from poolkit.testing.strategies._events import events, histories
from poolkit.testing.strategies._instants import (
    ZONE_NAMES,
    aware_datetimes,
    dst_transitions,
    durations,
    zone_names,
    zones,
)
from poolkit.testing.strategies._keys import KEY_KINDS, identity_keys
from poolkit.testing.strategies._people import ids, pools, reps, teams
from poolkit.testing.strategies._policies import (
    ROUTING_ATTRIBUTES,
    ROUTING_TAGS,
    assignment_rules,
    attribute_maps,
    cap_policies,
    claim_limit_policies,
    drop_rules,
    policies,
    routing_rules,
)

__all__ = [
    "GRADES",
    "KEY_KINDS",
    "ROUTING_ATTRIBUTES",
    "ROUTING_TAGS",
    "ZONE_NAMES",
    "assignment_rules",
    "attribute_maps",
    "aware_datetimes",
    "cap_policies",
    "claim_limit_policies",
    "customers",
    "drop_rules",
    "dst_transitions",
    "durations",
    "events",
    "follow_up_kinds",
    "histories",
    "identity_keys",
    "ids",
    "policies",
    "pools",
    "reps",
    "routing_rules",
    "teams",
    "zone_names",
    "zones",
]
