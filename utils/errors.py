"""User-facing errors.

Anything a user can cause (a missing file, a bad flag combination, a checkpoint that does
not match) raises :class:`UserError` with a one-line message saying what was wrong and how
to fix it. ``run_main.py`` and the other command-line entry points print that line and exit
with status 2 instead of showing a traceback (:func:`exit_status`).
"""
from __future__ import annotations

import sys
from collections.abc import Callable


class UserError(Exception):
    """An error caused by the user's input; its message is one line that says how to fix it."""


class DataError(UserError):
    """A dataset file is missing, malformed, or too short for the requested windows."""


class ConfigError(UserError):
    """A flag or flag combination is invalid."""


def unknown_name(kind: str, name: str, valid) -> ConfigError:
    """Build the error for a registry lookup that failed, listing the valid names."""
    return ConfigError(f"unknown {kind} '{name}'; valid: {', '.join(sorted(valid))}")


def exit_status(command: Callable[[], object], catch: tuple[type[Exception], ...] = ()) -> int:
    """A command-line entry point's exit status: ``command()``'s when it returns an int, else 0;
    2 after one line ``error: <message>`` on stderr when it raises a :class:`UserError` (or one
    of ``catch``)."""
    try:
        status = command()
    except (UserError, *catch) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return status if isinstance(status, int) else 0
