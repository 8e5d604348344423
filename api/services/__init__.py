"""The domain functions the routes call, one module per route module (``api/routes``):
``leads`` (lists, export, what-if scoring), ``enterprises``, ``chains``, ``outreach``; here the
errors they raise and the helpers they share.

Routes parse and shape; everything that touches pandas, the graph or the database is here.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from api.state import ServiceState


class NotFound(LookupError):
    """An id that does not exist; the message names it."""


class Conflict(ValueError):
    """An idempotency key reused with a different body."""


class InvalidInput(ValueError):
    """Input that passed the schema but not a rule across fields; ``field: reason``."""


def check_track(state: ServiceState, track: str | None) -> None:
    """A track named in a body must be one of the served park's (``InvalidInput`` otherwise)."""
    assert state.park is not None
    if track is not None and track not in state.park.tracks:
        raise InvalidInput(
            f"track: unknown track {track!r}; this park's tracks: {', '.join(state.park.tracks)}"
        )


def json_default(value: object) -> object:
    """``json.dumps``'s fallback: dates as ISO strings, numpy scalars as Python ones."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


def clean(value: object) -> object:
    """A table cell for JSON: missing values as ``None``, timestamps as dates, numpy as Python."""
    if (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or value is pd.NA
        or value is pd.NaT
    ):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def public_reasons(reasons: list[dict[str, str]]) -> list[dict[str, str | None]]:
    """Reasons in the API's shape: chain reasons keep their kind, model factors are named by feature."""
    return [
        {
            "kind": r.get("kind", r.get("feature", "factor")),
            "text_zh": r["text_zh"],
            "text_en": r["text_en"],
            "effect": r.get("effect"),
        }
        for r in reasons
    ]
