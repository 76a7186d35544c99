"""The change feed in a SQLite file: the migration that numbers the events of an older
file, and the plan of the feed's read."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from poolkit.stores import _documents as documents
from poolkit.stores._codec import encode
from poolkit.stores.sql.converters import micros
from poolkit.stores.sqlite import MIGRATIONS, SqliteStore, migrate
from poolkit.stores.sqlite.queries import FEED_SQL
from poolkit.testing.builders import T0, followed_up
from poolkit.testing.conformance.feed import commit_events, read_all

BEFORE_THE_FEED = 4  # the schema version before positions


def test_an_older_file_gets_positions_in_time_order_and_keeps_its_indexes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, MIGRATIONS[:BEFORE_THE_FEED])
    # An index another step may have put on the events before this one ran.
    conn.execute("CREATE INDEX events_by_time ON events (at)")
    rows = [
        ("b", 1, T0),
        ("a", 1, T0 + timedelta(hours=1)),
        ("b", 2, T0 + timedelta(hours=2)),
        ("b", 3, T0 + timedelta(minutes=30)),  # a clock set back: still after b's 2
        ("c", 1, T0 + timedelta(hours=3)),
    ]
    for customer_id, seq, at in rows:
        event = followed_up(customer_id, seq, at)
        conn.execute(
            "INSERT INTO events (customer_id, seq, kind, at, body) VALUES (?, ?, ?, ?, ?)",
            (customer_id, seq, event.kind, micros(at), documents.dumps(encode(event))),
        )
    conn.close()
    with SqliteStore(path) as store:
        assert store.migrated_from == BEFORE_THE_FEED
        entries = read_all(store)
        assert [(e.event.customer_id, e.event.seq) for e in entries] == [
            ("b", 1),
            ("a", 1),
            ("b", 2),
            ("b", 3),
            ("c", 1),
        ]
        assert [e.position for e in entries] == [1, 2, 3, 4, 5]
        with store.unit_of_work() as uow:
            b_rows = [(s, at) for cid, s, at in rows if cid == "b"]
            assert uow.events.history("b") == [followed_up("b", s, at) for s, at in b_rows]
        commit_events(store, [followed_up("a", 2)])
        assert read_all(store, after=5)[0].position == 6
    conn = sqlite3.connect(path)
    try:
        indexes = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
            )
        }
    finally:
        conn.close()
    assert {"events_by_time", "events_history"} <= indexes


def test_the_feed_reads_a_range_of_the_key_in_order(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "pool.db"):
        conn = sqlite3.connect(tmp_path / "pool.db")
        try:
            plan = conn.execute("EXPLAIN QUERY PLAN " + FEED_SQL, (0, 10)).fetchall()
        finally:
            conn.close()
    steps = " / ".join(step[-1] for step in plan)
    assert "USING INTEGER PRIMARY KEY (rowid>?)" in steps and "TEMP B-TREE" not in steps
