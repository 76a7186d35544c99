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

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from poolkit.model.customer import AttributeValue, Customer, CustomerStatus, IdentityKey
from poolkit.model.events import (
    EVENT_TYPES,
    Assigned,
    Claimed,
    Created,
    Deleted,
    Dropped,
    Edited,
    Event,
    FollowedUp,
    FollowUpKind,
    Frozen,
    GradeChanged,
    LockChanged,
    Merged,
    MergedInto,
    PoolChanged,
    Reassigned,
    Recycled,
    Restored,
    Returned,
    Transferred,
    Warned,
)
from poolkit.model.history import apply
from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import Rep
from poolkit.model.team import Team
from poolkit.policy.config import (
    DEFAULT_COLLISION_KEYS,
    CapPolicy,
    ClaimLimitPolicy,
    DropKind,
    DropRule,
    DropTime,
    Policy,
    RoutingRule,
)

__all__ = [
    "GRADES",
    "KEY_KINDS",
    "ZONE_NAMES",
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
    "teams",
    "zone_names",
    "zones",
]

#: The zones the strategies draw from. Each is here for a reason a deadline could go wrong.
ZONE_NAMES: tuple[str, ...] = (
    "Asia/Shanghai",  # +08:00, no DST: the home of 公海/私海
    "America/New_York",  # DST at 02:00 local, one hour
    "Europe/Berlin",  # DST at 02:00/03:00 local, on other dates than New York
    "UTC",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30 with DST
    "Australia/Lord_Howe",  # +10:30, DST of only 30 minutes
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Havana",  # DST starts at midnight: some days have no 00:00
    "Pacific/Kiritimati",  # +14:00, a date ahead of almost everyone
    "Pacific/Pago_Pago",  # -11:00
)

#: The customer grades the strategies use (the A-E grading of the domain notes).
GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")

#: Identity key kinds :func:`identity_keys` produces; ``wechat`` is not a collision key by
#: default, so a customer can carry keys that never collide.
KEY_KINDS: tuple[str, ...] = ("phone", "uscc", "org_code", "email", "wechat")

_MIN_INSTANT = datetime(2015, 1, 1, tzinfo=UTC)
_MAX_INSTANT = datetime(2035, 12, 31, tzinfo=UTC)


# ----------------------------------------------------------------------------- time


def zone_names() -> st.SearchStrategy[str]:
    """IANA zone names from :data:`ZONE_NAMES` (shrinks towards ``Asia/Shanghai``)."""
    return st.sampled_from(ZONE_NAMES)


_ZONES: st.SearchStrategy[ZoneInfo] = st.sampled_from(ZONE_NAMES).map(ZoneInfo)


def zones() -> st.SearchStrategy[ZoneInfo]:
    """:class:`~zoneinfo.ZoneInfo` objects for :data:`ZONE_NAMES`."""
    return _ZONES


@functools.lru_cache(maxsize=64)
def _transitions(zone_name: str, first_year: int, last_year: int) -> tuple[datetime, ...]:
    zone = ZoneInfo(zone_name)
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    found: list[datetime] = []
    day = timedelta(days=1)
    here = start
    while here < end:
        there = here + day
        if here.astimezone(zone).utcoffset() != there.astimezone(zone).utcoffset():
            # Narrow the day down to the second the offset changes.
            low, high = here, there
            while high - low > timedelta(seconds=1):
                middle = low + timedelta(seconds=(high - low) // timedelta(seconds=1) // 2)
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high)
        here = there
    return tuple(found)


def dst_transitions(
    zone: str | ZoneInfo, first_year: int = 2015, last_year: int = 2035
) -> list[datetime]:
    """The instants (in UTC) at which ``zone``'s UTC offset changes, in those years.

    Found by scanning day by day and narrowing to the second; cached per zone. Handy to put
    a deadline exactly on a spring-forward gap or a fall-back fold.
    """
    name = zone if isinstance(zone, str) else zone.key
    return list(_transitions(name, first_year, last_year))


@st.composite
def aware_datetimes(
    draw: st.DrawFn,
    zones: st.SearchStrategy[ZoneInfo] | None = None,
    *,
    min_value: datetime = _MIN_INSTANT,
    max_value: datetime = _MAX_INSTANT,
    near_transitions: bool = True,
) -> datetime:
    """Timezone-aware instants between ``min_value`` and ``max_value`` (aware bounds),
    expressed in a zone from ``zones`` (default: :func:`zones`).

    About half of them fall within two hours of one of the zone's DST transitions
    (sometimes exactly on it, or one second either side), so they land in folds (with
    ``fold=1`` where the wall time happens twice) and next to gaps. Every value is a real
    instant converted with ``astimezone``, never an imaginary wall time. Whole seconds
    mostly, sometimes with microseconds.
    """
    zone = draw(zones if zones is not None else _ZONES)
    low, high = min_value.astimezone(UTC), max_value.astimezone(UTC)
    candidates: list[datetime] = []
    if near_transitions:
        candidates = [t for t in dst_transitions(zone, low.year, high.year) if low <= t <= high]
    near: bool = draw(st.booleans())
    if candidates and near:
        transition = draw(st.sampled_from(candidates))
        offset = draw(st.sampled_from((-1, 0, 1)) | st.integers(-2 * 3600, 2 * 3600))
        instant = min(max(transition + timedelta(seconds=offset), low), high)
    else:
        span = int((high - low).total_seconds())
        instant = low + timedelta(seconds=draw(st.integers(0, span)))
    micro = draw(st.just(0) | st.integers(1, 999_999))
    if instant + timedelta(microseconds=micro) <= high:
        instant += timedelta(microseconds=micro)
    return instant.astimezone(zone)


def durations(max_days: int = 45) -> st.SearchStrategy[timedelta]:
    """Non-negative gaps between two moments: seconds, minutes to a day, whole days (which
    put a later time on the same wall-clock time as an earlier one), up to ``max_days``."""
    return st.one_of(
        st.integers(0, 59).map(lambda s: timedelta(seconds=s)),
        st.integers(60, 86_400).map(lambda s: timedelta(seconds=s)),
        st.integers(0, max_days).map(lambda d: timedelta(days=d)),
        st.integers(0, max_days * 86_400).map(lambda s: timedelta(seconds=s)),
    )


def _later(at: datetime, gap: timedelta, zone: tzinfo | None = None) -> datetime:
    """``gap`` of elapsed time after ``at`` (through UTC, so DST does not bend it)."""
    return (at.astimezone(UTC) + gap).astimezone(zone if zone is not None else at.tzinfo)


# ----------------------------------------------------------------------------- ids and people

_ID_ALPHABET = string.ascii_lowercase + string.digits + "-_." + "张王李赵销售华东"


def ids(prefix: str = "") -> st.SearchStrategy[str]:
    """Ids poolkit accepts (non-empty, no surrounding whitespace), some with Chinese
    characters; ``prefix`` is put in front (``ids("c-")`` gives ``c-3f``...)."""
    return st.text(_ID_ALPHABET, min_size=1, max_size=8).map(lambda text: prefix + text)


def _names() -> st.SearchStrategy[str]:
    return st.sampled_from(
        ("", "Li Lei", "Han Meimei", "王芳", "赵强", "Zhang Wei", "Chen Jing", "刘洋")
    )


@st.composite
def reps(
    draw: st.DrawFn,
    rep_id: str | None = None,
    *,
    supervisor_ids: Sequence[str] = (),
    admin: bool | None = None,
) -> Rep:
    """One active :class:`~poolkit.model.rep.Rep`: its supervisor (or none) from
    ``supervisor_ids``, admin or not (``admin=None``: drawn, rarely true), and sometimes a
    personal cap (0-6) and claim limit (0-4)."""
    return Rep(
        id=rep_id if rep_id is not None else draw(ids()),
        name=draw(_names()),
        supervisor_id=draw(st.none() | st.sampled_from(supervisor_ids)) if supervisor_ids else None,
        is_admin=admin if admin is not None else draw(st.integers(0, 7)) == 0,
        cap=draw(st.none() | st.integers(0, 6)),
        claim_limit=draw(st.none() | st.integers(0, 4)),
    )


@st.composite
def pools(
    draw: st.DrawFn,
    rep_ids: Sequence[str],
    pool_id: str | None = None,
    *,
    default: bool = False,
) -> Pool:
    """One public :class:`~poolkit.model.pool.Pool` whose managers and members are drawn
    from ``rep_ids``, in either mode (members claim / manager assigns)."""
    people = st.sampled_from(rep_ids) if rep_ids else st.nothing()
    return Pool(
        id=pool_id if pool_id is not None else draw(ids("pool-")),
        name=draw(st.sampled_from(("", "East China", "华北", "VIP", "Finance"))),
        mode=draw(st.sampled_from(PoolMode)),
        managers=draw(st.frozensets(people, max_size=2)),
        members=draw(st.frozensets(people, max_size=len(rep_ids))),
        is_default=default,
    )


@st.composite
def teams(
    draw: st.DrawFn,
    *,
    min_reps: int = 2,
    max_reps: int = 8,
    min_pools: int = 1,
    max_pools: int = 3,
    min_admins: int = 1,
) -> Team:
    """A valid :class:`~poolkit.model.team.Team`.

    Reps form one org tree: the first is the root and every later rep reports to an
    earlier one, so there are chains of supervisors several levels deep. At least
    ``min_admins`` of them are admins. Pools have managers and members drawn from the reps,
    each in either :class:`~poolkit.model.pool.PoolMode`, and exactly one is the default.
    Every rep is active; personal caps and claim limits are drawn as in :func:`reps`.
    """
    rep_ids = draw(st.lists(ids(), min_size=min_reps, max_size=max_reps, unique=True))
    admins = draw(
        st.sets(st.sampled_from(rep_ids), min_size=min(min_admins, len(rep_ids)), max_size=2)
    )
    members: list[Rep] = []
    for index, rep_id in enumerate(rep_ids):
        rep = draw(reps(rep_id, supervisor_ids=rep_ids[:index], admin=rep_id in admins))
        if index > 0 and rep.supervisor_id is None:
            # One tree, not a forest: everyone below the root has a supervisor.
            rep = Rep(
                id=rep.id,
                name=rep.name,
                supervisor_id=draw(st.sampled_from(rep_ids[:index])),
                is_admin=rep.is_admin,
                cap=rep.cap,
                claim_limit=rep.claim_limit,
            )
        members.append(rep)
    pool_ids = draw(st.lists(ids("pool-"), min_size=min_pools, max_size=max_pools, unique=True))
    default_index = draw(st.integers(0, len(pool_ids) - 1)) if pool_ids else -1
    team_pools = [
        draw(pools(rep_ids, pool_id, default=index == default_index))
        for index, pool_id in enumerate(pool_ids)
    ]
    return Team(reps=members, pools=team_pools)


# ----------------------------------------------------------------------------- keys

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # the letters a credit code may carry
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_check(body: str) -> str:
    """GB 11714 check character of an organisation code body."""
    total = sum(
        (int(c) if c.isdigit() else ord(c) - ord("A") + 10) * w
        for c, w in zip(body, _ORG_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def _uscc_check(body: str) -> str:
    """GB 32100 check character of the first 17 characters of a credit code."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total) % 31]


def _org_codes() -> st.SearchStrategy[str]:
    return (
        st.text(_ORG_ALPHABET, min_size=8, max_size=8)
        .filter(lambda body: body != "00000000")
        .map(lambda body: body + _org_check(body))
    )


@st.composite
def _usccs(draw: st.DrawFn) -> str:
    authority = draw(st.sampled_from("9512"))
    kind = draw(st.sampled_from("123"))
    region = draw(st.sampled_from(("110000", "310000", "440300", "330100", "510100")))
    org = draw(_org_codes())
    body = authority + kind + region + org
    return body + _uscc_check(body)


_PHONE_PREFIXES = ("130", "135", "138", "139", "150", "158", "186", "189")


def _phones() -> st.SearchStrategy[str]:
    return st.builds(
        lambda prefix, rest: f"+86{prefix}{rest:08d}",
        st.sampled_from(_PHONE_PREFIXES),
        st.integers(0, 99_999_999),
    )


def _emails() -> st.SearchStrategy[str]:
    local = st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,5})?", fullmatch=True)
    domain = st.sampled_from(("example.com", "qq.com", "163.com", "acme.cn", "mail.example.org"))
    return st.builds(lambda a, b: f"{a}@{b}", local, domain)


_KEY_VALUES: dict[str, Callable[[], st.SearchStrategy[str]]] = {
    "phone": _phones,
    "uscc": lambda: _usccs(),
    "org_code": _org_codes,
    "email": _emails,
    "wechat": lambda: st.from_regex(r"wx_[a-z0-9]{3,10}", fullmatch=True),
}


def identity_keys(kinds: Sequence[str] = KEY_KINDS) -> st.SearchStrategy[IdentityKey]:
    """:class:`~poolkit.model.customer.IdentityKey` values of the given kinds, each value in
    its normalised form with valid check digits: E.164 mainland mobiles (``+8613812345678``),
    18-character unified social credit codes, 9-character organisation codes, lower-case
    emails, and ``wechat`` ids. A kind outside :data:`KEY_KINDS` gets short generic values.
    """
    return st.one_of([_keys_of(kind) for kind in kinds])


def _keys_of(kind: str) -> st.SearchStrategy[IdentityKey]:
    values = _KEY_VALUES.get(kind, ids)()
    return values.map(lambda value: IdentityKey(kind, value))


# ----------------------------------------------------------------------------- customers


def _attributes() -> st.SearchStrategy[dict[str, AttributeValue]]:
    values: st.SearchStrategy[AttributeValue] = st.one_of(
        st.sampled_from(("vip", "north", "south", "trade-fair")),
        st.integers(-5, 500) | st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
    )
    return st.dictionaries(st.sampled_from(("tier", "region", "source", "employees")), values)


@st.composite
def customers(
    draw: st.DrawFn,
    *,
    statuses: Sequence[CustomerStatus] = tuple(CustomerStatus),
    rep_ids: Sequence[str] | None = None,
    pool_ids: Sequence[str] | None = None,
    grades: Sequence[str] = GRADES,
    key_kinds: Sequence[str] = KEY_KINDS,
    zones: st.SearchStrategy[ZoneInfo] | None = None,
) -> Customer:
    """A :class:`~poolkit.model.customer.Customer` that keeps every invariant and tells a
    coherent story.

    Its status is drawn from ``statuses``; it has an owner (from ``rep_ids``) and
    ``owned_since`` exactly when private, ``public_since`` when public (and sometimes when
    frozen). Times follow each other: created, then the former owners left
    (``related_reps``), then it entered its current place; follow-ups fall anywhere from its
    creation to a while after that (before the current owner took it, too), and the last
    deal, if any, is no later than the last follow-up (a deal is a follow-up). A private one
    may carry a pending warning. Grades come from ``grades`` (or none), pools from
    ``pool_ids``, keys from :func:`identity_keys`. Times are in mixed zones from ``zones``.
    """
    zone_strategy = zones if zones is not None else _ZONES
    status = draw(st.sampled_from(statuses))
    rep = st.sampled_from(rep_ids) if rep_ids else ids()
    created_at = draw(aware_datetimes(zone_strategy))
    entered = _later(created_at, draw(durations()), draw(zone_strategy))
    now = _later(entered, draw(durations()), draw(zone_strategy))

    def moment(low: datetime, high: datetime) -> datetime:
        """A time from ``low`` to ``high``, both included, in a drawn zone."""
        seconds = int((high.astimezone(UTC) - low.astimezone(UTC)).total_seconds())
        offset = draw(st.sampled_from((0, seconds)) | st.integers(0, max(seconds, 0)))
        return _later(low, timedelta(seconds=offset), draw(zone_strategy))

    related = {
        rep_id: moment(created_at, entered)
        for rep_id in draw(st.lists(rep, max_size=3, unique=True))
    }
    last_follow_up = moment(created_at, now) if draw(st.booleans()) else None
    last_deal: datetime | None = None
    if last_follow_up is not None and draw(st.booleans()):
        last_deal = last_follow_up if draw(st.booleans()) else moment(created_at, last_follow_up)
    private = status is CustomerStatus.PRIVATE
    public_since: datetime | None = None
    if status is CustomerStatus.PUBLIC:
        public_since = entered
    elif status is CustomerStatus.FROZEN and draw(st.booleans()):
        public_since = moment(created_at, entered)
    warned_due_at: datetime | None = None
    if private and draw(st.booleans()):
        warned_due_at = _later(now, draw(durations(10)), draw(zone_strategy))
    return Customer(
        id=draw(ids("c-")),
        name=draw(st.sampled_from(("Acme", "华为技术", "某某科技有限公司", "Globex", "Initech"))),
        pool_id=draw(st.sampled_from(pool_ids) if pool_ids else ids("pool-")),
        created_at=created_at,
        status=status,
        owner_id=draw(rep) if private else None,
        keys=draw(st.frozensets(identity_keys(key_kinds), max_size=3)),
        grade=draw(st.none() | st.sampled_from(grades)) if grades else None,
        tags=draw(st.frozensets(st.sampled_from(("hot", "trade-fair", "renewal")), max_size=2)),
        attributes=draw(_attributes()),
        related_reps=related,
        creator_id=draw(st.none() | rep),
        owned_since=entered if private else None,
        public_since=public_since,
        last_follow_up_at=last_follow_up,
        last_deal_at=last_deal,
        locked=draw(st.booleans()),
        warned_due_at=warned_due_at,
        version=draw(st.integers(1, 60)),
    )


def follow_up_kinds() -> st.SearchStrategy[FollowUpKind]:
    """Any :class:`~poolkit.model.events.FollowUpKind`: call, visit, email, meeting, message
    or deal."""
    return st.sampled_from(FollowUpKind)


# ----------------------------------------------------------------------------- policies


@st.composite
def drop_rules(
    draw: st.DrawFn,
    *,
    name: str | None = None,
    kinds: Sequence[DropKind] = tuple(DropKind),
    grades: Sequence[str] = GRADES,
    pool_ids: Sequence[str] = (),
    max_days: int = 60,
) -> DropRule:
    """A valid :class:`~poolkit.policy.config.DropRule` of one of ``kinds``: 1 to
    ``max_days`` days, a warning 0 to days-1 days ahead, sometimes scoped to some of
    ``grades`` and of ``pool_ids``, sometimes exempting customers that ever had a deal."""
    days = draw(st.integers(1, max_days))
    return DropRule(
        name=name if name is not None else draw(ids("rule-")),
        kind=draw(st.sampled_from(kinds)),
        days=days,
        warn_days=draw(st.integers(0, days - 1)),
        grades=draw(st.frozensets(st.sampled_from(grades), max_size=2)) if grades else frozenset(),
        pools=draw(st.frozensets(st.sampled_from(pool_ids), max_size=2))
        if pool_ids
        else frozenset(),
        exempt_if_dealt=draw(st.integers(0, 4)) == 0,
    )


def _per_rep(
    rep_ids: Sequence[str], values: st.SearchStrategy[int]
) -> st.SearchStrategy[dict[str, int]]:
    if not rep_ids:
        return st.just({})
    return st.dictionaries(st.sampled_from(rep_ids), values, max_size=3)


def cap_policies(rep_ids: Sequence[str] = ()) -> st.SearchStrategy[CapPolicy]:
    """A :class:`~poolkit.policy.config.CapPolicy`: no cap or a small company-wide one,
    per-rep overrides for some of ``rep_ids``, and either counting rule for dealt and
    locked customers."""
    return st.builds(
        CapPolicy,
        default=st.none() | st.integers(0, 8),
        per_rep=_per_rep(rep_ids, st.integers(0, 8)),
        count_dealt=st.booleans(),
        count_locked=st.booleans(),
    )


def claim_limit_policies(rep_ids: Sequence[str] = ()) -> st.SearchStrategy[ClaimLimitPolicy]:
    """A :class:`~poolkit.policy.config.ClaimLimitPolicy`: no limit or 0-5 claims per rolling
    1-14 days, with per-rep overrides for some of ``rep_ids``."""
    return st.builds(
        ClaimLimitPolicy,
        max_claims=st.none() | st.integers(0, 5),
        window_days=st.integers(1, 14),
        per_rep=_per_rep(rep_ids, st.integers(0, 5)),
    )


@st.composite
def policies(
    draw: st.DrawFn,
    *,
    team: Team | None = None,
    rep_ids: Sequence[str] = (),
    pool_ids: Sequence[str] = (),
    grades: Sequence[str] = GRADES,
    timezones: st.SearchStrategy[str] | None = None,
    max_rules: int = 5,
    max_days: int = 60,
) -> Policy:
    """A random but valid :class:`~poolkit.policy.config.Policy`.

    A zone from ``timezones`` (default :func:`zone_names`), either
    :class:`~poolkit.policy.config.DropTime`, up to ``max_rules`` drop rules of all three
    kinds (see :func:`drop_rules`; scoped to ``grades`` and pools), caps and claim limits
    with per-rep overrides, a cooldown of 0-14 days, collision keys (the default set or
    some of :data:`KEY_KINDS`), and sometimes a routing rule. With ``team``, per-rep
    overrides name its reps and scopes its pools; otherwise ``rep_ids``/``pool_ids``.
    """
    if team is not None:
        rep_ids = [rep.id for rep in team.reps]
        pool_ids = [pool.id for pool in team.pools]
    rule_names = draw(st.lists(ids("rule-"), max_size=max_rules, unique=True))
    rules = tuple(
        draw(drop_rules(name=name, grades=grades, pool_ids=pool_ids, max_days=max_days))
        for name in rule_names
    )
    collision_keys = draw(
        st.just(DEFAULT_COLLISION_KEYS)
        | st.frozensets(st.sampled_from(KEY_KINDS), min_size=1, max_size=len(KEY_KINDS))
    )
    routing: tuple[RoutingRule, ...] = ()
    if pool_ids and draw(st.integers(0, 3)) == 0:
        routing = (
            RoutingRule(attribute="tier", equals="vip", pool=draw(st.sampled_from(pool_ids))),
        )
    return Policy(
        timezone=draw(timezones if timezones is not None else zone_names()),
        drop_time=draw(st.sampled_from(DropTime)),
        drop_rules=rules,
        caps=draw(cap_policies(rep_ids)),
        claim_limit=draw(claim_limit_policies(rep_ids)),
        cooldown_days=draw(st.integers(0, 14)),
        collision_keys=collision_keys,
        routing=routing,
    )


# ----------------------------------------------------------------------------- events


def _event_fields(draw: st.DrawFn, customer_id: str | None) -> dict[str, Any]:
    return {
        "customer_id": customer_id if customer_id is not None else draw(ids("c-")),
        "at": draw(aware_datetimes()),
        "actor_id": draw(st.none() | ids()),
    }


def _payload(draw: st.DrawFn, kind: type[Event]) -> dict[str, Any]:
    """Fields particular to one kind of event, each valid on its own."""
    rep, pool, text = ids(), ids("pool-"), st.sampled_from(("", "no answer", "合同一年"))
    reason = st.sampled_from(("too busy", "wrong contact", "客户无意向"))
    if kind is Created:
        return {
            "name": draw(st.sampled_from(("Acme", "某某科技"))),
            "pool_id": draw(pool),
            "owner_id": draw(st.none() | rep),
            "keys": draw(st.frozensets(identity_keys(), max_size=3)),
            "grade": draw(st.none() | st.sampled_from(GRADES)),
            "tags": draw(st.frozensets(st.sampled_from(("hot", "renewal")), max_size=2)),
            "attributes": draw(_attributes()),
        }
    if kind is FollowedUp:
        return {"method": draw(follow_up_kinds()), "note": draw(text)}
    if kind in (Claimed, Assigned):
        return {"rep_id": draw(rep), "pool_id": draw(pool)}
    if kind is Returned:
        return {"rep_id": draw(rep), "reason": draw(reason)}
    if kind is Recycled:
        return {"rep_id": draw(rep), "reason": draw(text)}
    if kind is Dropped:
        return {
            "rep_id": draw(rep),
            "code": draw(st.sampled_from(("drop.no_follow_up", "drop.owner_departed"))),
            "rule": draw(st.none() | ids("rule-")),
            "due_at": draw(st.none() | aware_datetimes()),
            "reason": draw(text),
        }
    if kind in (Transferred, Reassigned):
        payload: dict[str, Any] = {"from_rep_id": draw(rep), "to_rep_id": draw(rep)}
        if kind is Reassigned:
            payload["reason"] = draw(text)
        return payload
    if kind is PoolChanged:
        return {"from_pool_id": draw(pool), "to_pool_id": draw(pool)}
    if kind is Frozen:
        return {"from_rep_id": draw(st.none() | rep), "reason": draw(text)}
    if kind is Restored:
        return {"pool_id": draw(pool)}
    if kind is Deleted:
        return {"reason": draw(text)}
    if kind is LockChanged:
        return {"locked": draw(st.booleans())}
    if kind is GradeChanged:
        grade = st.none() | st.sampled_from(GRADES)
        return {"old": draw(grade), "new": draw(grade)}
    if kind is Edited:
        return {
            "name": draw(st.sampled_from(("Acme Ltd", "某某科技"))),
            "keys": draw(st.frozensets(identity_keys(), max_size=3)),
            "tags": draw(st.frozensets(st.sampled_from(("hot", "renewal")), max_size=2)),
            "attributes": draw(_attributes()),
        }
    if kind is Warned:
        return {
            "rep_id": draw(rep),
            "rule": draw(ids("rule-")),
            "due_at": draw(aware_datetimes()),
            "reason": draw(text),
        }
    if kind is Merged:
        owner = draw(st.none() | rep)
        return {
            "absorbed_id": draw(ids("c-")),
            "owner_id": owner,
            "owned_since": None if owner is None else draw(aware_datetimes()),
            "keys": draw(st.frozensets(identity_keys(), max_size=3)),
            "tags": draw(st.frozensets(st.sampled_from(("hot", "renewal")), max_size=2)),
            "attributes": draw(_attributes()),
            "related_reps": draw(st.dictionaries(rep, aware_datetimes(), max_size=2)),
            "grade": draw(st.none() | st.sampled_from(GRADES)),
            "last_follow_up_at": draw(st.none() | aware_datetimes()),
            "last_deal_at": draw(st.none() | aware_datetimes()),
        }
    if kind is MergedInto:
        return {"into_id": draw(ids("c-"))}
    raise AssertionError(f"no payload strategy for {kind.__name__}")


_EVENT_KINDS: tuple[type[Event], ...] = tuple(EVENT_TYPES.values())


@st.composite
def events(
    draw: st.DrawFn,
    kinds: Sequence[type[Event]] = _EVENT_KINDS,
    *,
    customer_id: str | None = None,
) -> Event:
    """One event of any of ``kinds`` (default: every kind in
    :data:`poolkit.model.events.EVENT_TYPES`), with valid fields of its own: a ``Created``
    has ``seq`` 1, every other kind a ``seq`` of 2 or more. Events alone need not form a
    history; use :func:`histories` for a log that replays."""
    kind = draw(st.sampled_from(kinds))
    seq = 1 if kind is Created else draw(st.integers(2, 200))
    fields = _event_fields(draw, customer_id)
    return kind(seq=seq, **fields, **_payload(draw, kind))


@st.composite
def histories(
    draw: st.DrawFn,
    *,
    rep_ids: Sequence[str] | None = None,
    pool_ids: Sequence[str] | None = None,
    max_events: int = 20,
    customer_id: str | None = None,
) -> list[Event]:
    """A customer's whole event log that :func:`poolkit.model.history.replay` accepts.

    Starts with ``Created`` (into a private or a public pool) and goes on with moves that
    fit the customer's state at each point (a claim only from a public pool, a restore only
    from the recycle bin, a transfer to someone else...), times never going backwards,
    sometimes ending with ``Deleted`` or ``MergedInto``, sometimes absorbing another customer
    (``Merged``). Reps and pools come from ``rep_ids``/``pool_ids``.
    It follows the model's state rules, not anyone's rights: use it to test stores, event
    logs and replays, not permissions.
    """
    rep = st.sampled_from(rep_ids) if rep_ids else st.sampled_from(("li", "wang", "zhao", "chen"))
    pool = st.sampled_from(pool_ids) if pool_ids else st.sampled_from(("east", "north", "vip"))
    zone_strategy = zones()
    at = draw(aware_datetimes(zone_strategy))
    cid = customer_id if customer_id is not None else draw(ids("c-"))
    created = Created(
        customer_id=cid,
        seq=1,
        at=at,
        actor_id=draw(rep),
        name=draw(st.sampled_from(("Acme", "某某科技"))),
        pool_id=draw(pool),
        owner_id=draw(st.none() | rep),
        keys=draw(st.frozensets(identity_keys(), max_size=2)),
        grade=draw(st.none() | st.sampled_from(GRADES)),
    )
    log: list[Event] = [created]
    customer = apply(None, created)
    for _ in range(draw(st.integers(0, max_events - 1))):
        assert customer is not None
        at = _later(at, draw(durations(20)), draw(zone_strategy))
        event = _next_event(draw, customer, at, rep, pool)
        log.append(event)
        customer = apply(customer, event)
        if customer is None:
            break
    return log


def _next_event(
    draw: st.DrawFn,
    customer: Customer,
    at: datetime,
    rep: st.SearchStrategy[str],
    pool: st.SearchStrategy[str],
) -> Event:
    """One event that fits where ``customer`` is now."""
    # The end of a history (deleted, or merged into another) comes rarely, so logs grow.
    moves = ["deleted", "merged_into"] if draw(st.integers(0, 7)) == 0 else []
    if not customer.is_frozen:
        moves += ["followed_up", "frozen", "lock_changed", "edited", "grade_changed", "merged"]
    if customer.is_public:
        moves += ["claimed", "assigned", "pool_changed"]
    if customer.is_private:
        moves += ["returned", "recycled", "dropped", "warned", "transferred", "reassigned"]
    if customer.is_frozen:
        moves.append("restored")
    move = draw(st.sampled_from(moves))
    base: dict[str, Any] = {
        "customer_id": customer.id,
        "seq": customer.version + 1,
        "at": at,
        "actor_id": draw(rep),
    }
    owner = customer.owner_id
    if move == "deleted":
        return Deleted(**base, reason="duplicate")
    if move == "merged_into":
        return MergedInto(**base, into_id=draw(ids("c-")))
    if move == "merged":
        return _merged(draw, customer, base, rep)
    if move == "followed_up":
        return FollowedUp(**base, method=draw(follow_up_kinds()))
    if move == "frozen":
        return Frozen(**base, from_rep_id=owner)
    if move == "lock_changed":
        return LockChanged(**base, locked=not customer.locked)
    if move == "edited":
        return Edited(
            **base,
            name=customer.name,
            keys=customer.keys | draw(st.frozensets(identity_keys(), max_size=1)),
            tags=customer.tags | {"edited"},
            attributes=customer.attributes,
        )
    if move == "grade_changed":
        new = draw(st.sampled_from([g for g in (None, *GRADES) if g != customer.grade]))
        return GradeChanged(**base, old=customer.grade, new=new)
    if move in ("claimed", "assigned"):
        target = draw(rep)
        if move == "claimed":
            return Claimed(**{**base, "actor_id": target}, rep_id=target, pool_id=customer.pool_id)
        return Assigned(**base, rep_id=target, pool_id=customer.pool_id)
    if move == "pool_changed":
        other = draw(pool.filter(lambda p: p != customer.pool_id) | ids("pool-x"))
        return PoolChanged(**base, from_pool_id=customer.pool_id, to_pool_id=other)
    if move == "restored":
        return Restored(**base, pool_id=draw(pool))
    assert owner is not None
    if move == "returned":
        return Returned(**{**base, "actor_id": owner}, rep_id=owner, reason="not interested")
    if move == "recycled":
        return Recycled(**base, rep_id=owner)
    if move == "dropped":
        return Dropped(
            **{**base, "actor_id": None},
            rep_id=owner,
            code="drop.no_follow_up",
            rule="quiet",
            due_at=at,
        )
    if move == "warned":
        due = _later(at, draw(durations(10)))
        return Warned(**{**base, "actor_id": None}, rep_id=owner, rule="quiet", due_at=due)
    target = draw(rep.filter(lambda r: r != owner) | ids("rep-x"))
    if move == "transferred":
        return Transferred(**{**base, "actor_id": owner}, from_rep_id=owner, to_rep_id=target)
    return Reassigned(**base, from_rep_id=owner, to_rep_id=target)


def _merged(
    draw: st.DrawFn, customer: Customer, base: dict[str, Any], rep: st.SearchStrategy[str]
) -> Merged:
    """Another customer merged into ``customer``: keys, tags and related reps united, the
    later follow-up and deal, and an owner (kept, changed, or none for a public one)."""
    at: datetime = base["at"]
    owner = customer.owner_id
    owned_since = customer.owned_since
    if draw(st.booleans()):
        owner = draw(rep) if customer.is_private or draw(st.booleans()) else None
        owned_since = at if owner is not None else None
    related = dict(customer.related_reps) | {
        rep_id: at for rep_id in draw(st.lists(rep, max_size=2, unique=True))
    }
    if owner is not None:
        related.pop(owner, None)
    absorbed_follow_up = draw(st.none() | st.just(at))
    follow_ups = [t for t in (customer.last_follow_up_at, absorbed_follow_up) if t is not None]
    deals = [t for t in (customer.last_deal_at,) if t is not None]
    if absorbed_follow_up is not None and draw(st.booleans()):
        deals.append(absorbed_follow_up)
    return Merged(
        **base,
        absorbed_id=draw(ids("c-")),
        owner_id=owner,
        owned_since=owned_since,
        keys=customer.keys | draw(st.frozensets(identity_keys(), max_size=2)),
        tags=customer.tags,
        attributes=customer.attributes,
        related_reps=related,
        grade=customer.grade,
        last_follow_up_at=max(follow_ups, key=_utc) if follow_ups else None,
        last_deal_at=max(deals, key=_utc) if deals else None,
    )


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)
