"""Tools for testing poolkit and code built on it: Hypothesis strategies
(:mod:`poolkit.testing.strategies`), a state machine that drives a pool service with random
operations (:mod:`poolkit.testing.statemachine`), the store conformance suite, one test
class per port (:mod:`poolkit.testing.conformance`), and the values it is written with
(:mod:`poolkit.testing.builders`).

Needs Hypothesis, and pytest for the conformance suite (both come with
``pip install poolkit[test]``); nothing else in poolkit imports this package.
"""

__all__: list[str] = []
