"""Ids, reps, pools and teams."""

from __future__ import annotations

import string
from collections.abc import Sequence

from hypothesis import strategies as st

from poolkit.model.pool import Pool, PoolMode
from poolkit.model.rep import Rep
from poolkit.model.team import Team

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
