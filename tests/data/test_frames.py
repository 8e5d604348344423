"""``data.frames.member`` and ``data.reference.chains_of`` answer what pandas' own operations
answer, on Arrow-backed, pandas-string and object columns, with missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from data.frames import member
from data.reference import chains_of

COLUMNS = {
    "arrow": pd.Series(["a", "b", None, "c", "a"], dtype=pd.ArrowDtype(pa.string())),
    "string": pd.Series(["a", "b", None, "c", "a"], dtype="string"),
    "object": pd.Series(["a", "b", None, "c", "a"], dtype=object),
}


@pytest.mark.parametrize("kind", list(COLUMNS))
@pytest.mark.parametrize("values", [{"a", "c"}, [], ["zz"], ("b",), {"a", "b", "c"}])
def test_member_is_isin(kind: str, values: object) -> None:
    column = COLUMNS[kind]
    wanted = list(values)  # type: ignore[call-overload]
    expected = column.isin(wanted).to_numpy(dtype=bool)
    got = member(column, values)  # type: ignore[arg-type]
    assert got.dtype == bool and got.tolist() == expected.tolist()


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["big_data.security", "iot.x", None, np.nan, "plain"], index=[5, 6, 7, 8, 9]),
        pd.Series(["fintech.payment", pd.NA, "fintech.payment"], dtype="string"),
        pd.Series([], dtype=object),
    ],
)
def test_chains_of_is_the_split_of_each_id(column: pd.Series) -> None:
    expected = column.astype(str).str.split(".", n=1).str[0]
    got = chains_of(column.rename("link_id"))
    assert got.index.equals(column.index) and got.name == "link_id"
    assert got.tolist() == expected.tolist() or all(
        (a == b) or (pd.isna(a) and pd.isna(b)) for a, b in zip(got, expected, strict=True)
    )
