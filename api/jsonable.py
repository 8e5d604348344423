"""Values as JSON: table cells (numpy scalars, missing values, timestamps) and ``json.dumps``'s
fallback, for the serving state's answers and the idempotency store's saved responses."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd


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
