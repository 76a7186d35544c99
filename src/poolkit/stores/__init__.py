"""Stores: one module (or package) per kind of storage, each implementing
:mod:`poolkit.ports`: :mod:`poolkit.stores.memory` and :mod:`poolkit.stores.sqlite`."""

__all__: list[str] = []
