"""The old path of the private :mod:`poolkit.stores._documents`.

Kept only for the SQLite store and its conformance test,
which are being reshaped elsewhere and will import the new path; delete this file then.
The module itself is put in this one's place, so both names are one module and patching
an attribute through either patches both.
"""

import sys

import poolkit.stores._documents as _moved
from poolkit.stores._documents import *  # noqa: F403  (the names, for type checkers)

sys.modules[__name__] = _moved
