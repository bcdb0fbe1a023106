"""The one place where the stages' errors become Dagster failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from impacting.errors import ActionableError


@contextmanager
def failures() -> Iterator[None]:
    """Run a step's work; an :class:`ActionableError` (a setting, a server, a missing model)
    fails the step with its message, which says what to do, instead of a traceback."""
    try:
        yield
    except ActionableError as error:
        raise dg.Failure(description=str(error)) from error
