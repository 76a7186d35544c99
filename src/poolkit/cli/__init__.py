"""The ``poolkit`` command: a thin layer over the public API, on a SQLite database.

Human-readable output by default, ``--json`` for scripts. A user mistake prints one line on
stderr and exits non-zero, never a traceback:

=====  ==========================================================
code   meaning
=====  ==========================================================
0      done
1      refused for another reason (an unexpected PoolkitError)
2      bad usage or bad configuration (policy, team, CSV, dates)
3      unknown customer, rep or pool
4      permission denied, or the actor has departed
5      refused by a pool rule: cap, claim limit, cooldown, collision, id taken,
       wrong state
130    interrupted (Ctrl-C); an import says what it committed
=====  ==========================================================

:mod:`poolkit.cli.main` holds the parser and the exit codes; each other module holds one
group of commands, each declaring its own arguments.
"""

from poolkit.cli.main import DEFAULT_DB, EXIT_CODES, build_parser, entry_point, exit_code, main

__all__ = ["DEFAULT_DB", "EXIT_CODES", "build_parser", "entry_point", "exit_code", "main"]
