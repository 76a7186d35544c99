"""The behaviour every store must have, written once as pytest test classes, one per port
of :mod:`poolkit.ports`, plus one for the service running on the store.

Subclass a contract in a test module, name the subclass ``Test...`` and give it a ``store``
fixture returning a fresh, empty store; pytest then runs every check of that contract
against it. :class:`StoreConformance` is all of them at once::

    import pytest
    from poolkit.testing.conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self, tmp_path):
            return MyStore(tmp_path / "pool.db")

A store still being written runs only the contracts of what it already implements::

    from poolkit.testing.conformance import CustomerConformance, UnitOfWorkConformance

    class TestMyStoreSoFar(UnitOfWorkConformance, CustomerConformance):
        ...  # the same store fixture

=============================  ==========================================================
:class:`UnitOfWorkConformance`  commit, rollback, isolation, serialisation across threads
:class:`CustomerConformance`    the customer repository: versions, indexes, find, keys,
                                similar names, the due index
:class:`PageConformance`        keyset pages and counts of customers, in every sort
:class:`EventLogConformance`    the event log
:class:`FiguresConformance`     the report's counts: customers by status, pool, owner
                                and grade; events by kind over a span of time
:class:`FeedConformance`        the change feed: order, pages, rollbacks, reopening
:class:`ExternalIdConformance`  imported customers by their external ids
:class:`CreatedConformance`     many new customers at once, each with its first event:
                                all of them or none
:class:`ReviewConformance`      the review list of look-alikes
:class:`TeamConformance`        reps, pools and settings
:class:`PoolLockConformance`    ``lock_pool``: a pool's turn read and written under it
:class:`ServiceConformance`     pool scenarios through :class:`~poolkit.service.PoolService`
                                on the store, each customer equal to its history's replay
:class:`WhatIfConformance`      a policy's what-if on the store: paged, read-only, and what
                                the sweeps do once the candidate is applied
:class:`HoldingsConformance`    a rep's counts for the caps: equal to counting what ``find``
                                finds, after updates, removals and rollbacks
:class:`ReadAheadConformance`   a rep's counts read ahead: what a read gives, the unit of
                                work's own writes counted, and after a rep's lock, what
                                its holder committed
=============================  ==========================================================

A store whose units of work run side by side (a server database) puts
:class:`ConcurrentUnitsOfWork` first in its bases: its checks replace the two of
:class:`UnitOfWorkConformance` that expect units of work to take turns, with the
concurrent contract (a second unit of work is not kept out, reads only what was
committed, and its write of a row the first wrote waits; decisions about a rep hold
under ``lock_rep``).

No contract's name starts with ``Test``, so pytest never collects one on its own; a
subclass without a ``store`` fixture fails every test with "fixture 'store' not found"
(unless a ``conftest.py`` around it defines one: the class's own fixture wins over it).
Only :class:`ServiceConformance` and :class:`WhatIfConformance` import the service. The
values the checks are written with are public, in :mod:`poolkit.testing.builders`. Needs
pytest.
"""

from __future__ import annotations

from poolkit.testing.conformance.concurrent import ConcurrentUnitsOfWork
from poolkit.testing.conformance.created import CreatedConformance
from poolkit.testing.conformance.customers import CustomerConformance
from poolkit.testing.conformance.events import EventLogConformance
from poolkit.testing.conformance.external_ids import ExternalIdConformance
from poolkit.testing.conformance.feed import FeedConformance
from poolkit.testing.conformance.figures import FiguresConformance
from poolkit.testing.conformance.holdings import HoldingsConformance
from poolkit.testing.conformance.pages import PageConformance
from poolkit.testing.conformance.pool_lock import PoolLockConformance
from poolkit.testing.conformance.read_ahead import ReadAheadConformance
from poolkit.testing.conformance.reviews import ReviewConformance
from poolkit.testing.conformance.service import ServiceConformance
from poolkit.testing.conformance.team import TeamConformance
from poolkit.testing.conformance.unit_of_work import UnitOfWorkConformance
from poolkit.testing.conformance.what_if import WhatIfConformance


class StoreConformance(
    UnitOfWorkConformance,
    CustomerConformance,
    PageConformance,
    EventLogConformance,
    FeedConformance,
    ReviewConformance,
    TeamConformance,
    ServiceConformance,
    FiguresConformance,
    WhatIfConformance,
    PoolLockConformance,
    HoldingsConformance,
    ReadAheadConformance,
    ExternalIdConformance,
    CreatedConformance,
):
    """The whole store contract of :mod:`poolkit.ports` and the service on top of it.
    Subclass with a ``store`` fixture."""


__all__ = [
    "ConcurrentUnitsOfWork",
    "CreatedConformance",
    "CustomerConformance",
    "EventLogConformance",
    "ExternalIdConformance",
    "FeedConformance",
    "FiguresConformance",
    "HoldingsConformance",
    "PageConformance",
    "PoolLockConformance",
    "ReadAheadConformance",
    "ReviewConformance",
    "ServiceConformance",
    "StoreConformance",
    "TeamConformance",
    "UnitOfWorkConformance",
    "WhatIfConformance",
]
