"""Stores: one module per kind of storage, each implementing :mod:`poolkit.ports`."""
