"""``attract plan``: the contact plan — which firms each track approaches this quarter so that
the plan's targets are reached at the least tax given up (``models.contact_plan``; the same
figures as GET /api/v1/plan and the 招商计划 page)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli import ParkOption, app, console, fail


@app.command("plan")
def plan_command(
    park: ParkOption = "shibei",
    capacity: Annotated[
        int | None,
        typer.Option(help="First contacts a quarter per track (default: the park YAML's)."),
    ] = None,
    horizon: Annotated[
        int | None,
        typer.Option(help="Quarters from the as-of date (default: to the plan's end year)."),
    ] = None,
    top: Annotated[int, typer.Option(help="Firms shown per track's list.")] = 10,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    xlsx: Annotated[Path | None, typer.Option(help="Also write the plan as an Excel file.")] = None,
) -> None:
    """The contact plan: per target its shortfall, the expected firms with the plan and with
    the value-only list at the same capacity, the tax given up and its price; and this
    quarter's list per track with each firm's plan value."""
    from api.cli.plan import _loaded
    from api.cli.service import _sessions
    from api.errors import InvalidInput
    from api.serving.plan import contact_plan, plan_report, plan_xlsx

    if format not in {"table", "json"}:
        raise fail(f"--format: must be table or json (got {format!r})")
    if capacity is not None and capacity <= 0:
        raise fail(f"--capacity: contacts per quarter must be positive (got {capacity})")
    if top <= 0:
        raise fail(f"--top: must be positive (got {top})")
    state = _loaded(park)
    try:
        with console.status("solving the contact plan"):
            served = contact_plan(state, _sessions(), capacity=capacity, quarters=horizon)
    except InvalidInput as exc:
        field, _, reason = str(exc).partition(": ")
        name = {"capacity": "--capacity", "horizon": "--horizon"}.get(field, field)
        raise fail(f"{name}: {reason}") from exc
    report = plan_report(served, top=top)
    if xlsx is not None:
        xlsx.write_bytes(plan_xlsx(plan_report(served)))
    if format == "json":
        typer.echo(json.dumps(report, ensure_ascii=False, indent=1))
        return
    tax = report["tax"]
    caps = ", ".join(f"{k} {v}" for k, v in report["capacity"].items())
    console.print(
        f"{park}: contact plan as of {report['as_of']}, {report['horizon_quarters']} quarters "
        f"from {report['first_quarter']} ({report['quarters_to_land']} to land), capacity a "
        f"quarter {caps}; {report['candidates']:,} candidates, {report['candidates_solved']:,} "
        f"in the LP ({report['rounds']} rounds), solved in {report['solve_seconds']:.1f} s",
        highlight=False,
    )
    console.print(
        f"expected in-park tax over the horizon: plan {tax['plan_wan_cny']:,.0f} 万元, "
        f"value-only list {tax['value_only_wan_cny']:,.0f} 万元 (given up "
        f"{tax['given_up_vs_value_only_wan_cny']:,.0f}); LP {tax['relaxation_wan_cny']:,.0f} "
        f"against {tax['tax_only_wan_cny']:,.0f} without targets",
        highlight=False,
    )
    table = Table(title="targets (expected firms added by each list)")
    for column in (
        "target",
        "shortfall",
        "plan",
        "value-only",
        "tax given up",
        "price 万元/firm",
        "status",
    ):
        table.add_column(column, justify="left" if column in ("target", "status") else "right")
    for t in report["targets"]:
        cost = t["tax_given_up_wan_cny"]
        status = t["status"]
        if status != "met":
            reach = t["capacity_to_reach"]
            if not t["candidates_counting"]:
                status += " (no candidate counts for it)"
            else:
                status += f" (alone at {reach}/quarter)" if reach else " (not by every candidate)"
        table.add_row(
            f"{t['id']} {t['name_zh']}",
            f"{t['shortfall']:,.1f}",
            f"{t['expected_plan']:,.1f}",
            f"{t['expected_value_only']:,.1f}",
            "—" if cost is None else f"{cost:,.0f}",
            f"{t['price_wan_cny']:,.0f}",
            status,
        )
    console.print(table)
    for track, items in report["lists"].items():
        lst = Table(title=f"{report['first_quarter']} {track}: first {len(items)} of the list")
        for column in ("#", "firm", "P(land)", "tax P50 万元/yr", "plan value 万元", "targets"):
            lst.add_column(column, justify="left" if column in ("firm", "targets") else "right")
        for item in items:
            lst.add_row(
                str(item["rank"]),
                item["name"],
                f"{item['p_land']:.1%}",
                f"{item['tax_wan_cny']:,.0f}",
                f"{item['plan_value_wan_cny']:,.0f}",
                "、".join(item["targets"]),
            )
        console.print(lst)


@app.command("plan-backtest")
def plan_backtest(
    park: ParkOption = "shibei",
    capacity: Annotated[
        int, typer.Option(help="First contacts a quarter per track, the same for both lists.")
    ] = 4,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """The demo's plan period 2021–2025 simulated twice at the same capacity and seed: with the
    value-only lists and with the contact plan's lists (each in a pipeline of its own; the
    service database is not touched). Every KPI in 2025, chain links covered, tax in 2025,
    landings."""
    import pandas as pd

    from api.demo.backtest import backtest
    from api.serving.state import load_state
    from data.settings import get_settings

    if format not in {"table", "json"}:
        raise fail(f"--format: must be table or json (got {format!r})")
    if capacity <= 0:
        raise fail(f"--capacity: contacts per quarter must be positive (got {capacity})")
    import tempfile

    from sqlalchemy.orm import sessionmaker

    from api.crm.migrate import open_database

    settings = get_settings()
    oracle_path = settings.universe_dir / "oracle.parquet"
    if not oracle_path.exists():
        raise fail(f"{oracle_path}: missing; the backtest needs the demo (`attract demo`)")
    with tempfile.TemporaryDirectory(prefix="attract-plan-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'empty.db'}"
        engine = open_database(url)
        # the state as of the demo's date: over an empty pipeline, no firm landed yet
        loaded = settings.model_copy(update={"park": park, "database_url": url})
        with console.status("loading the universe as of its date, over an empty pipeline"):
            state = load_state(loaded)
        if not state.ready:
            raise fail("; ".join(f"{k}: {v}" for k, v in state.status.items() if v != "ready"))
        with console.status("planning and simulating 2021–2025 twice"):
            result = backtest(
                state,
                sessionmaker(engine, expire_on_commit=False),
                pd.read_parquet(oracle_path),
                capacity=capacity,
                seed=settings.seed,
            )
        engine.dispose()
    runs = (result.value, result.plan)
    if format == "json":
        from dataclasses import asdict

        typer.echo(json.dumps(asdict(result), ensure_ascii=False, indent=1, default=str))
        return
    console.print(
        f"{park}: 2021–2025 at {capacity} first contacts a quarter per track "
        f"({result.per_track} firms a track), seed {result.seed}",
        highlight=False,
    )
    table = Table(title="value-only list against the contact plan's list")
    for column in ("", "target", "value-only", "plan"):
        table.add_column(column, justify="left" if not column else "right")
    for kpi, (low, high) in result.targets.items():
        values = [r.kpis.get(kpi) for r in runs]
        target = f"{low:,.0f}" if low == high else f"{low:,.0f}–{high:,.0f}"
        table.add_row(
            kpi,
            target,
            *(
                "—" if v is None else f"{v:,.1f}" + (" ✓" if kpi in r.kpis_met else "")
                for v, r in zip(values, runs, strict=True)
            ),
        )
    table.add_row("KPIs met", "", *(str(len(r.kpis_met)) for r in runs))
    table.add_row("chain links covered", "", *(str(r.links_covered) for r in runs))
    table.add_row("gap links' shortfall (firms)", "", *(f"{r.link_shortfall:,.1f}" for r in runs))
    table.add_row(
        "tax 2025 (万元)",
        "",
        *("—" if r.tax_2025_wan_cny is None else f"{r.tax_2025_wan_cny:,.0f}" for r in runs),
    )
    table.add_row("leads · landed", "", *(f"{r.leads} · {r.landed}" for r in runs))
    console.print(table)
