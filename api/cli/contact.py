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
