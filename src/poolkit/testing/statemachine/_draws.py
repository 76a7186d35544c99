"""The machine's own draws: cached choices among the few reps and customers it knows, and
one-draw creates whose identity keys often collide."""

from __future__ import annotations

import functools
from typing import Any

import attrs
from hypothesis import strategies as st

from poolkit.model.customer import IdentityKey
from poolkit.testing.strategies._keys import org_check, uscc_check

NO_SUCH_POOL = "no-such-pool"
_NAMES = ("Acme Trading", "华东机电有限公司", "Globex", "深圳市某某科技有限公司", "Initech")


@functools.lru_cache(maxsize=4096)
def one_of(*elements: Any) -> st.SearchStrategy[Any]:
    # Building a strategy validates it; the machine asks for the same few choices (these
    # reps, those customers) thousands of times per run, and every call counts twice over
    # while Hypothesis shrinks.
    return st.sampled_from(elements)


@functools.lru_cache(maxsize=4096)
def either(likely: tuple[Any, ...], anything: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """Half the time one of ``likely``, else one of ``anything``."""
    return one_of(*likely) | one_of(*anything) if likely else one_of(*anything)


def key_values(kind: str) -> list[str]:
    """A few fixed, valid values per key kind, so that creates sometimes collide."""
    if kind == "phone":
        return ["+8613800138001", "+8613900139002", "+8618612345678"]
    if kind == "email":
        return ["li.lei@example.com", "buyer@acme.cn", "sales@qq.com"]
    if kind == "org_code":
        return [body + org_check(body) for body in ("60003734", "MA1FL2B3", "12345678")]
    if kind == "uscc":
        bodies = ["91110000" + org for org in key_values("org_code")]
        return [body + uscc_check(body) for body in bodies]
    return [f"{kind}-1", f"{kind}-2", f"{kind}-3"]


@attrs.frozen
class Create:
    """What one create asks for; printed as one line in a failing example."""

    actor: str
    public: bool
    keys: frozenset[IdentityKey]
    grade: str | None
    name: str
    pool_id: str | None
    customer_id: str | None


@functools.lru_cache(maxsize=4096)
def creates(
    likely_actors: tuple[str, ...],
    everyone: tuple[str, ...],
    keys: tuple[IdentityKey, ...],
    grades: tuple[str | None, ...],
    pool_ids: tuple[str, ...],
    known_ids: tuple[str, ...],
) -> st.SearchStrategy[Create]:
    """A create by a pool member half the time, else by anyone; public or private; keys
    that often collide; one time in ten in a pool that does not exist, four in ten in a
    chosen pool, else the default; one time in ten reusing a known id."""
    # one_of picks a branch uniformly: repeated branches weigh the choices.
    pools = one_of(*pool_ids)
    return st.builds(
        Create,
        actor=either(likely_actors, everyone),
        public=st.booleans(),
        keys=st.frozensets(one_of(*keys), max_size=2),
        grade=one_of(*grades),
        name=one_of(*_NAMES),
        pool_id=st.one_of(st.just(NO_SUCH_POOL), *[pools] * 4, *[st.none()] * 5),
        customer_id=(st.one_of(one_of(*known_ids), *[st.none()] * 9) if known_ids else st.none()),
    )
