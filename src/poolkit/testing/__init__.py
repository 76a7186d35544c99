"""Tools for testing poolkit and code built on it: Hypothesis strategies
(:mod:`poolkit.testing.strategies`), a state machine that drives a pool service with random
operations (:mod:`poolkit.testing.statemachine`), and the store conformance suite.

Needs Hypothesis, and pytest for the conformance suite (both come with
``pip install poolkit[test]``); nothing else in poolkit imports this package.
"""

__all__: list[str] = []
