"""Small operations on the service's tables that pandas does slowly on Arrow-backed columns."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def member(column: pd.Series, values: Iterable[object]) -> np.ndarray:
    """``column.isin(values)`` as a bool array. On an Arrow-backed column (a mapped snapshot's)
    the test runs in Arrow's hash table: pandas' own ``isin`` there turns every value into a
    Python scalar first, seconds for the 10⁵ ids of a 1 M-candidate plan."""
    wanted = list(values)
    array = column.array
    if isinstance(array, pd.arrays.ArrowExtensionArray | pd.arrays.ArrowStringArray):
        arrow = pa.array(array)
        if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type):
            try:
                value_set = pa.array(wanted, type=arrow.type)
                hit = pc.is_in(arrow, value_set=value_set)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                pass  # values that are no strings: pandas decides
            else:
                return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
    return column.isin(wanted).to_numpy(dtype=bool)
