"""The domain values: reps, pools, customers and their history. Imports no store.

Internal: the values are public through :mod:`poolkit` and :mod:`poolkit.events`; import
them from there, since the modules here may be reorganised.
"""
