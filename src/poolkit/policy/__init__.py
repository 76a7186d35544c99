"""The policy as data (:mod:`.config`), calendar arithmetic (:mod:`.calendar`) and the pure
rule engine (:mod:`.rules`).

Internal: the policy classes are public through :mod:`poolkit`, and the rules and calendar
helpers through :mod:`poolkit.rules`; import them from there.
"""
