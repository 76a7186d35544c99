"""The SQL every relational store of poolkit shares, importing no database driver.

- :mod:`.rows`: the customers row and its version-checked update and delete, the side
  tables (identity keys, tags, related reps, name blocks) and their upkeep, the claims
  index;
- :mod:`.customer_query`: a :class:`~poolkit.ports.CustomerQuery` as one ``SELECT``;
- :mod:`.converters`: instants as integer microseconds, documents as JSON text, a damaged
  document as :class:`~poolkit.errors.DamagedRecordError`;
- :mod:`.dialect`: what differs between databases in that SQL (the placeholder, a list
  given as one parameter, how an instant is passed).

The statements are written with ``?`` placeholders and rendered for a
:class:`~poolkit.stores.sql.dialect.Dialect`; a store for another database reuses them
with a dialect of its own (see docs/stores.md).
"""

__all__: list[str] = []
