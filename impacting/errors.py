"""The one base class for errors a person can act on.

Every stage raises a subclass of :class:`ActionableError` when something outside the code is
wrong (a setting, a file, a server, a missing model) and its message names the item and the fix.
The Dagster layer turns these into `dagster.Failure` in one place (`impacting.defs.errors`), and
the command line prints them and exits with status 2; any other exception is a bug.
"""

from __future__ import annotations


class ActionableError(Exception):
    """Something a person must fix; the message says what and how, and never holds a secret."""
