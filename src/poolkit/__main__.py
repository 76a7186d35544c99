"""``python -m poolkit``: the same command as the ``poolkit`` script."""

from poolkit.cli import entry_point

if __name__ == "__main__":
    entry_point()
