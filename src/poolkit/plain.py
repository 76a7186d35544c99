"""Poolkit values as plain JSON types, for output to people and scripts (a CRM's API, a
log, the command line's ``--json``). One-way: the stores keep their own encoding."""

from poolkit.stores._codec import to_plain

__all__ = ["to_plain"]
