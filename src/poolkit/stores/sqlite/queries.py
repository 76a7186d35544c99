"""The statements only SQLite runs as written: its JSON functions (``json_each``,
``json_extract``), numbered parameters, and plans the tests check.

The shared statements (the customers row, its version check, the side tables, the claims
index, :class:`~poolkit.ports.CustomerQuery`) are in :mod:`poolkit.stores.sql.rows` and
:mod:`poolkit.stores.sql.customer_query`.
"""

from __future__ import annotations

# The lookups whose cost must not grow with the number of customers; the tests check
# their query plans use customers_due, the primary keys of customer_keys and
# customer_name_blocks, and the customer indexes of reviews. Customers are read with their
# id, so that a document that cannot be read is named in the error.
DUE_SQL = "SELECT id, body FROM customers WHERE next_at <= ? ORDER BY next_at, id LIMIT ?"
WITH_KEYS_SQL = """SELECT id, body FROM customers WHERE id IN (
    SELECT k.customer_id FROM customer_keys AS k
    JOIN json_each(?) AS wanted
      ON k.kind = json_extract(wanted.value, '$[0]')
     AND k.value = json_extract(wanted.value, '$[1]')
) ORDER BY id"""
# For each wanted block, the id of its ``per_block``-th customer (``OFFSET per_block - 1``)
# bounds an index range of the block: at most ``per_block`` rows read per block, however
# many names share it. A block with fewer customers has no such id; the empty blob stands
# in, as SQLite sorts every blob after every text. A document that is not JSON gives a NULL
# name (json_extract would fail the whole statement without saying which customer).
SIMILAR_NAMES_SQL = """SELECT c.id, c.name
FROM customers AS c
WHERE c.id IN (
    SELECT b.customer_id FROM json_each(?) AS wanted
    JOIN customer_name_blocks AS b
      ON b.block = wanted.value
     AND b.customer_id <= coalesce((
            SELECT last.customer_id FROM customer_name_blocks AS last
            WHERE last.block = wanted.value
            ORDER BY last.customer_id LIMIT 1 OFFSET ?
         ), x'')
) ORDER BY c.id"""
# The same index ranges, each row with the block it was found by (names_by_block); the
# names are read next, once per customer (NORMAL_NAMES_SQL), from their narrow table: a
# read of each candidate's wide customers row, once per block it was found by, was most of
# an import's lookup in a book of a million.
NAMES_BY_BLOCK_SQL = """SELECT b.block, b.customer_id
FROM json_each(?) AS wanted
JOIN customer_name_blocks AS b
  ON b.block = wanted.value
 AND b.customer_id <= coalesce((
        SELECT last.customer_id FROM customer_name_blocks AS last
        WHERE last.block = wanted.value
        ORDER BY last.customer_id LIMIT 1 OFFSET ?
     ), x'')"""
# Those blocks that have a customer past the first ``per_block``: one seek each, the same
# range of the index as the lists above, only its end.
COMMON_BLOCKS_SQL = """SELECT wanted.value FROM json_each(?) AS wanted
WHERE EXISTS (
    SELECT 1 FROM customer_name_blocks AS b
    WHERE b.block = wanted.value
    ORDER BY b.customer_id LIMIT 1 OFFSET ?
)"""
NORMAL_NAMES_SQL = """SELECT n.customer_id, n.name, n.normal
FROM json_each(?) AS wanted
JOIN customer_normal_names AS n ON n.customer_id = wanted.value"""
# An update reads, in one primary-key lookup, the stored version and, for each field behind
# a side table, whether the stored document (body) and the one about to be written (?1)
# differ: the stored value when they do, else NULL (the codec writes every field, so none
# is missing). A sweep's drop changes the related reps only, a follow-up none of them, so
# most updates touch one side row or none, and Python parses only the fields that changed.
# (SQLite parses each document once per row, not once per json_extract.) A stored document
# that is not JSON reads as NULL and is flagged (second column), so that the customer is
# named in the error instead of json_extract failing the statement.
STORED_SIDES_SQL = """SELECT version, doc IS NULL,
    json_extract(doc, '$.name') IS NOT json_extract(?1, '$.name'),
    nullif(json_extract(doc, '$.keys'), json_extract(?1, '$.keys')),
    nullif(json_extract(doc, '$.tags'), json_extract(?1, '$.tags')),
    nullif(json_extract(doc, '$.related_reps'), json_extract(?1, '$.related_reps'))
FROM (SELECT version, CASE WHEN json_valid(body) THEN body END AS doc
      FROM customers WHERE id = ?2)"""

# The next event of a history, or nothing when ``seq`` does not follow the last one (the
# MAX is one seek at the end of the customer's range of the primary key).
APPEND_EVENT_SQL = """INSERT INTO events (customer_id, seq, kind, at, body)
SELECT ?1, ?2, ?3, ?4, ?5
WHERE ?2 = 1 + coalesce((SELECT MAX(seq) FROM events WHERE customer_id = ?1), 0)"""

# The change feed: a range of the table's integer key (the position), read in key order.
FEED_SQL = """SELECT position, customer_id, seq, body FROM events
WHERE position > ? ORDER BY position LIMIT ?"""

# A customer's review items, through the two customer indexes: they hold a few items each,
# while one status may hold thousands (the unary + keeps the planner off reviews_status).
REVIEWS_OF_CUSTOMER_SQL = """SELECT id, body FROM reviews
WHERE (customer_id = ?1 OR similar_id = ?1) AND (?2 IS NULL OR +status = ?2)
ORDER BY created_at, id"""


# A rep's holdings, read from the index customers_owner_by_entered alone (owner_id, entered_at,
# id, dealt, locked).
HOLDINGS_SQL = """SELECT count(*), coalesce(sum(dealt), 0), coalesce(sum(locked), 0),
    coalesce(sum(dealt AND locked), 0)
FROM customers WHERE owner_id = ?"""
# Imported customers' external ids (customer_external_ids, indexed both ways).
EXTERNAL_ID_SQL = "SELECT customer_id FROM customer_external_ids WHERE external_id = ?"
INSERT_EXTERNAL_ID_SQL = (
    "INSERT INTO customer_external_ids (external_id, customer_id) VALUES (?, ?)"
)
DELETE_EXTERNAL_ID_SQL = "DELETE FROM customer_external_ids WHERE customer_id = ?"
# Which of many new ids are taken, by a customer or by a history (of a customer removed
# since, who may not come back under its id).
TAKEN_IDS_SQL = """SELECT wanted.value FROM json_each(?) AS wanted
WHERE wanted.value IN (SELECT id FROM customers)
   OR wanted.value IN (SELECT customer_id FROM events)
ORDER BY wanted.value"""
INSERT_EVENT_SQL = "INSERT INTO events (customer_id, seq, kind, at, body) VALUES (?, ?, ?, ?, ?)"
WITH_EXTERNAL_IDS_SQL = """SELECT e.external_id, e.customer_id
FROM json_each(?) AS wanted
JOIN customer_external_ids AS e ON e.external_id = wanted.value"""

__all__ = [
    "APPEND_EVENT_SQL",
    "DELETE_EXTERNAL_ID_SQL",
    "DUE_SQL",
    "EXTERNAL_ID_SQL",
    "FEED_SQL",
    "HOLDINGS_SQL",
    "INSERT_EVENT_SQL",
    "INSERT_EXTERNAL_ID_SQL",
    "NORMAL_NAMES_SQL",
    "REVIEWS_OF_CUSTOMER_SQL",
    "SIMILAR_NAMES_SQL",
    "STORED_SIDES_SQL",
    "TAKEN_IDS_SQL",
    "WITH_EXTERNAL_IDS_SQL",
    "WITH_KEYS_SQL",
]
