"""The old path of the private :mod:`poolkit._demo`.

Kept only for the command line,
which are being reshaped elsewhere and will import the new path; delete this file then.
The module itself is put in this one's place, so both names are one module and patching
an attribute through either patches both.
"""

import sys

import poolkit._demo as _moved
from poolkit._demo import *  # noqa: F403  (the names, for type checkers)

sys.modules[__name__] = _moved
