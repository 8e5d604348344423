"""`attract import table tax_records FILE --out DIR --append`: a year's new records join the held
ones; rows held already are skipped; a held key with other values refuses the whole file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from api.cli import app
from data import columns as C
from data.loaders import write_parquet

HELD = pd.DataFrame(
    {
        C.ENTERPRISE_ID: ["stock:600000", "stock:600000", "stock:600001"],
        C.YEAR: [2019, 2020, 2020],
        C.REVENUE: [100.0, 110.0, 50.0],
        C.TAX_PAID: [5.0, 5.5, 2.0],
    }
)


def _import(folder: Path, csv: Path) -> tuple[int, str]:
    done = CliRunner().invoke(
        app, ["import", "table", "tax_records", str(csv), "--out", str(folder), "--append"]
    )
    return done.exit_code, done.output


def test_append_adds_new_years_skips_held_rows_and_refuses_conflicts(tmp_path: Path) -> None:
    folder = tmp_path / "universe"
    folder.mkdir()
    write_parquet(HELD, folder / "tax_records.parquet")
    new = tmp_path / "2021.csv"
    pd.DataFrame(
        {
            C.ENTERPRISE_ID: ["stock:600000", "stock:600001", "stock:600000"],
            C.YEAR: [2021, 2021, 2020],  # the last repeats a held row exactly
            C.REVENUE: [121.0, 55.0, 110.0],
            C.TAX_PAID: [6.05, 2.2, 5.5],
        }
    ).to_csv(new, index=False)
    code, out = _import(folder, new)
    assert code == 0, out
    assert "appended 2 rows (1 already held) · 5 rows in tax_records" in out
    table = pd.read_parquet(folder / "tax_records.parquet")
    assert len(table) == 5 and set(table[C.YEAR]) == {2019, 2020, 2021}
    assert _import(folder, new)[1].count("appended 0 rows (3 already held)") == 1

    conflict = tmp_path / "fix.csv"
    pd.DataFrame(
        {C.ENTERPRISE_ID: ["stock:600001"], C.YEAR: [2020], C.REVENUE: [50.0], C.TAX_PAID: [9.9]}
    ).to_csv(conflict, index=False)
    code, out = _import(folder, conflict)
    assert code == 2 and "repeat a held key" in out and "nothing was appended" in out
    assert len(pd.read_parquet(folder / "tax_records.parquet")) == 5  # untouched

    code, out = _import(tmp_path / "empty", new)
    assert code == 2 and "does not exist yet" in out
