"""``attract buildings``, ``attract buildings show ID`` and ``attract import buildings FILE``: the
park's carriers (载体) with occupancy, tax and 亿元楼 status, one building's detail, and an
officer's sheet of buildings imported through ``data.buildings`` (all or nothing)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli import ParkOption, app, console, data_folder, fail, import_app
from data.loaders import DataFileError

buildings_app = typer.Typer(
    help="The park's buildings: occupancy, tax per year and 亿元楼 status.",
    invoke_without_command=True,
)
app.add_typer(buildings_app, name="buildings")

FormatOption = Annotated[str, typer.Option("--format", help="table or json.")]


def _check_format(value: str) -> str:
    if value not in ("table", "json"):
        raise fail(f"--format: 'table' or 'json' (got {value!r})")
    return value


def _json(payload: dict[str, Any]) -> None:
    console.print_json(json.dumps(payload, ensure_ascii=False, default=str))


def _area(value: object) -> str:
    return "—" if value is None else f"{float(value):,.0f}"  # type: ignore[arg-type]


def _tax(value: object) -> str:
    return "—" if value is None else f"{float(value):,.0f}"  # type: ignore[arg-type]


@buildings_app.callback()
def buildings(
    ctx: typer.Context,
    park: ParkOption = "shibei",
    format: FormatOption = "table",
) -> None:
    """The park's buildings (the same figures as GET /api/v1/buildings and the 载体 page)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"park": park, "format": format}
        return
    from api.cli.plan import _loaded
    from api.cli.service import _sessions
    from api.errors import NotFound
    from api.serving.buildings import buildings_list

    _check_format(format)
    state = _loaded(park)
    try:
        payload = buildings_list(state, _sessions())
    except NotFound as exc:
        raise fail(str(exc)) from exc
    if format == "json":
        _json(payload)
        return
    threshold = payload["threshold_wan_cny"]
    table = Table(
        title=f"{park}: {len(payload['buildings'])} buildings · 亿元楼 (≥ {threshold:,.0f} 万元) "
        f"{payload['baseline_year']}: {payload['count_baseline']} · {payload['latest_year']}: "
        f"{payload['count_now']} · projected {payload['expected_count_projected']:.2f}"
    )
    for column in (
        "id",
        "building",
        "kind",
        "floor m²",
        "free now m²",
        "occupancy",
        f"tax {payload['baseline_year']} 万元",
        f"tax {payload['latest_year']} 万元",
        "亿元楼",
        "P(亿元楼) projected",
    ):
        table.add_column(
            column, justify="left" if column in ("id", "building", "kind") else "right"
        )
    for b in payload["buildings"]:
        occ = b["occupancy_now"]
        status = "yes" if b["over_now"] else "no"
        if b["over_now"] and not b["over_baseline"]:
            status = "new"
        p = b["p_over_projected"]
        table.add_row(
            b["building_id"],
            b["name"],
            b["kind_zh"],
            _area(b["floor_area_m2"]),
            _area(b["free_now_m2"]),
            "—" if occ is None else f"{occ:.0%}",
            _tax(b["tax_baseline_wan_cny"]),
            _tax(b["tax_now_wan_cny"]),
            status,
            "—" if p is None else f"{p:.0%}",
        )
    console.print(table)


@buildings_app.command("show")
def show(
    ctx: typer.Context,
    building_id: Annotated[str, typer.Argument(help="The building's id (attract buildings).")],
    park: Annotated[str | None, typer.Option("--park", help="Park id (default: shibei).")] = None,
    format: Annotated[str | None, typer.Option("--format", help="table or json.")] = None,
) -> None:
    """One building: occupancy, tax per year, leads to fill it, the closest to 亿元楼."""
    from api.cli.plan import _loaded
    from api.cli.service import _sessions
    from api.errors import NotFound
    from api.serving.buildings import building_page

    park = park or ctx.obj["park"]
    format = _check_format(format or ctx.obj["format"])
    from data.reference import default_parks

    if park not in default_parks():
        raise fail(f"--park: unknown park {park!r}; choose one of {', '.join(default_parks())}")
    state = _loaded(park)
    try:
        detail = building_page(state, _sessions(), building_id)
    except NotFound as exc:
        raise fail(str(exc)) from exc
    if format == "json":
        _json(detail)
        return
    b = detail["building"]
    console.print(
        f"[bold]{b['building_id']} {b['name']}[/bold] · {b['kind_zh']} · floor "
        f"{_area(b['floor_area_m2'])} m² · lettable {_area(b['lettable_area_m2'])} m² · free now "
        f"{_area(b['free_now_m2'])} m²",
        highlight=False,
    )
    occupancy = Table(title="occupancy by quarter")
    for column in ("quarter", "occupancy", "let m²", "free m²"):
        occupancy.add_column(column, justify="left" if column == "quarter" else "right")
    for q in detail["occupancy"]:
        occ = q["occupancy"]
        occupancy.add_row(
            q["quarter"],
            "—" if occ is None else f"{occ:.0%}",
            _area(q["occupied_m2"]),
            _area(q["free_m2"]),
        )
    console.print(occupancy)
    tax = Table(title=f"tax per year (亿元楼: ≥ {detail['threshold_wan_cny']:,.0f} 万元)")
    tax.add_column("year")
    tax.add_column("tax 万元", justify="right")
    for row in detail["tax_by_year"]:
        tax.add_row(str(row["year"]), _tax(row["tax_wan_cny"]))
    console.print(tax)
    for title, rows in (
        ("leads that would fill it (by expected value)", detail["leads"][:10]),
        ("leads closing its 亿元楼 gap", detail["closest"]),
    ):
        leads = Table(title=title)
        for column in ("firm", "track", "P(land)", "in-park tax P50 万元", "need m² P50"):
            leads.add_column(column, justify="left" if column in ("firm", "track") else "right")
        for lead in rows:
            leads.add_row(
                f"{lead['name']} ({lead['enterprise_id']})",
                lead.get("track", ""),
                f"{lead['p_land']:.0%}",
                _tax(lead["in_park_tax_p50_wan_cny"]),
                _area(lead.get("need_m2_p50")),
            )
        console.print(leads if rows else f"{title}: none")


@import_app.command("buildings")
def import_buildings_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help="A workbook (sheets 载体, 新增面积, 入驻企业) or a CSV of the buildings, in Chinese "
            "headers or the contract's names."
        ),
    ],
    park: ParkOption = "shibei",
    supply: Annotated[
        Path | None, typer.Option(help="CSV of 新增面积 (supply) beside a buildings CSV.")
    ] = None,
    tenants: Annotated[
        Path | None, typer.Option(help="CSV of 入驻企业 (tenants) beside a buildings CSV.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="The day a sheet without 统计日期 was counted (YYYY-MM-DD).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Universe folder to write into (default: the demo's).")
    ] = None,
) -> None:
    """Import the park's buildings from an officer's sheet, validated within and across tables;
    any failing row refuses the whole import (the row and the reason printed, nothing written
    but rejects/)."""
    from data.buildings import import_space, write_space
    from data.reference import default_chains, default_parks

    folder = data_folder(out)
    try:
        day = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError as exc:
        raise fail(f"--as-of: not a date YYYY-MM-DD ({as_of!r})") from exc
    enterprises = None
    if (folder / "enterprises.parquet").exists():
        import pandas as pd

        enterprises = pd.read_parquet(folder / "enterprises.parquet", columns=["enterprise_id"])
    try:
        result = import_space(
            file,
            park=default_parks()[park],
            chains=default_chains(),
            as_of=day,
            supply=supply,
            tenants=tenants,
            enterprises=enterprises,
        )
        written = write_space(result, folder)
    except DataFileError as exc:
        raise fail(str(exc)) from exc
    for table, load in result.results.items():
        s = load.summary()
        console.print(
            f"{table}: {s['source_rows']:,} rows read · [green]{s['accepted']:,} accepted[/green]",
            highlight=False,
        )
    for what, count in sorted(result.normalisations.items()):
        console.print(f"  normalised: {what}: {count:,}", highlight=False)
    console.print(
        "wrote " + ", ".join(str(p) for k, p in written.items() if k.endswith(".parquet")),
        highlight=False,
    )
