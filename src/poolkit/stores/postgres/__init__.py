"""A PostgreSQL store: many processes on many machines, one database.

Install with ``pip install 'poolkit[postgres]'`` (psycopg 3 and psycopg_pool)::

    from poolkit.stores.postgres import PostgresStore

    store = PostgresStore("postgresql://app@db.internal/crm", schema="poolkit")

How it keeps the contract of :mod:`poolkit.ports` without a lock over the whole store:

- A unit of work is one READ COMMITTED transaction on a pooled connection. Units of work
  run side by side; reads never wait for writes.
- A customer is guarded by its version: every write names the version it was based on
  (``UPDATE ... WHERE id = %s AND version = %s``); no row changed is a
  :class:`~poolkit.errors.StaleVersionError`, and nothing was written. The event log's
  primary key ``(customer_id, seq)`` refuses a second event for the same step.
- A rep's cap, claim limit and cooldown are decided under :meth:`PostgresUnitOfWork.lock_rep`,
  a lock on the rep's row: two decisions about one rep are serialised, about two reps not.
- A collision check (:meth:`~poolkit.ports.CustomerRepository.with_keys`) takes a
  transaction-level advisory lock per identity key first: two creates of one phone at the
  same instant give one customer and one :class:`~poolkit.errors.CollisionError` naming it.
- The sweep's read (``due``) locks its batch with ``FOR UPDATE SKIP LOCKED``: several
  sweepers share the due customers, never wait for each other, and each customer is moved
  by one of them only.
- The change feed's positions are given when a unit of work commits, under a lock on one
  row (``feed_head``) held from just before the COMMIT to its end: positions become
  visible in order, so a reader never passes one that fills in later, and the units of
  work still run side by side (docs/concurrency.md).
- Writes of a row the transaction holds locked (the sweep's batch; a customer whose event
  it just appended, which locks the customer's row) cannot be refused by anyone else: the
  unit of work checks them against the version and history it holds (a mismatch is the
  same :class:`~poolkit.errors.StaleVersionError`, at once) and sends them pipelined with
  the next statement or the commit, one round trip for a whole batch.
- The database's own failures become poolkit errors in one place
  (:mod:`poolkit.stores.postgres._errors`): a lock wait past ``busy_timeout_s``
  is :class:`~poolkit.errors.StoreBusyError`, a serialisation failure or deadlock
  :class:`~poolkit.errors.StoreConflictError` (both retryable), a lost connection
  :class:`~poolkit.errors.StoreUnavailableError`.

The schema is created and migrated on open (:mod:`poolkit.stores.postgres._schema`).
"""

from poolkit.stores.postgres._schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from poolkit.stores.postgres._store import PostgresStore, PostgresUnitOfWork

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "PostgresStore",
    "PostgresUnitOfWork",
    "migrate",
    "schema_version",
]
