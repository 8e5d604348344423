"""The errors the service's functions raise, and the one map from each to an HTTP status that
the JSON API and the pages share.

A domain function raises ``NotFound`` for an id that does not exist, ``Conflict`` for a stale
version or a reused idempotency key, ``InvalidInput`` for input that passed the schema but not a
rule across fields (``field: reason``), ``PermissionError`` for a role that may not do it and
``DatabaseBusy`` when the database stayed locked through every retry. ``STATUS`` says what each
becomes; ``api.app`` answers it as JSON under ``/api/v1`` and as an error page elsewhere.
"""

from __future__ import annotations

from typing import Final


class NotFound(LookupError):
    """An id that does not exist; the message names it."""


class Conflict(ValueError):
    """A change against a version that is no longer current, or an idempotency key reused with
    a different body."""


class InvalidInput(ValueError):
    """Input that passed the schema but not a rule across fields; the message is
    ``field: reason``."""


class DatabaseBusy(RuntimeError):
    """The database stayed locked or unreachable through every retry."""


STATUS: Final[dict[type[Exception], int]] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    PermissionError: 403,
    DatabaseBusy: 503,
}


def status_of(exc: Exception) -> int:
    """The HTTP status of a domain error (the first of ``STATUS`` it is an instance of)."""
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)


def field_and_reason(exc: Exception) -> tuple[str | None, str]:
    """``("track", "unknown track 'x' …")`` from a message ``"track: unknown track 'x' …"``;
    ``(None, message)`` when it names no field."""
    field, sep, reason = str(exc).partition(": ")
    return (field, reason) if sep and field.isidentifier() else (None, str(exc))
