"""``attract kpis``, ``attract monitor`` and ``attract demo-history``: the plan's targets and
what landed firms really paid."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli import ParkOption, app, console, err_console, fail
from data.loaders import DataFileError
from data.settings import get_settings

if TYPE_CHECKING:
    from api.serving.state import ServiceState


def _loaded(park: str) -> ServiceState:
    from api.serving.state import load_state

    settings = get_settings().model_copy(update={"park": park})
    with console.status("loading the universe, the graph and the champion"):
        state = load_state(settings)
    if not state.ready:
        raise fail("; ".join(f"{k}: {v}" for k, v in state.status.items() if v != "ready"))
    return state


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f} %" if unit == "%" else f"{value:,.1f}".removesuffix(".0")


@app.command()
def kpis(park: ParkOption = "shibei") -> None:
    """The plan's KPIs: baseline, now, target and the projection if the open pipeline lands at
    its P(land) (the same figures as GET /api/v1/kpis and the 规划指标 page)."""
    from api.cli.service import _sessions
    from api.serving.kpis import kpi_statuses

    state = _loaded(park)
    table = Table(title=f"{park}: the plan's KPIs")
    for column in ("KPI", "unit", "baseline", "now", "target", "projected", "status"):
        table.add_column(column, justify="left" if column in ("KPI", "status") else "right")
    for k in kpi_statuses(state, _sessions()):
        target = _figure(k.target_low, k.unit) + (
            "" if k.target_high == k.target_low else f"–{_figure(k.target_high, k.unit)}"
        )
        baseline = (
            _figure(k.baseline, k.unit)
            if k.level_baseline is None
            else f"{k.level_baseline:,.0f} {k.level_unit}"
        )
        now = _figure(k.now, k.unit) + (
            "" if k.level_now is None else f" ({k.level_now:,.0f} {k.level_unit})"
        )
        status = k.status if k.not_held is None else f"{k.status}: {k.not_held}"
        table.add_row(
            f"{k.id} {k.name_zh}",
            k.unit,
            baseline,
            now,
            target,
            _figure(k.projected, k.unit),
            status,
        )
    console.print(table)


@app.command()
def monitor(
    park: ParkOption = "shibei",
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
) -> None:
    """Realised against predicted tax of the landed firms, logged to MLflow (a monitor-<park>
    run); warns when the P10–P90 band's coverage falls below the park's threshold.

    Figures: coverage — share of landed firms whose tax in the latest full year after landing
    lies in the P10–P90 band the model gave when they became leads (nominal 80 %); within ×2 —
    share within half to twice the P50; median ratio — realised / P50 (below 1: they pay less
    than promised). Per model version and track, and over all."""
    import pandas as pd
    from sqlalchemy.orm import Session

    from api.cli import data_folder
    from api.crm.tables import LANDED_COLUMNS, landed_leads, make_engine
    from data.reference import default_parks
    from data.universe import load_universe
    from training.charts import realised_chart, save_png
    from training.monitor import coverage_summary, drifts, log_monitor, realised_against_predicted

    settings = get_settings()
    target = default_parks()[park]
    try:
        tax = load_universe(data_folder(data), ["tax_records"])["tax_records"]
    except DataFileError as exc:
        raise fail(str(exc)) from exc
    engine = make_engine(settings.database)
    with Session(engine) as s:
        landed = pd.DataFrame(landed_leads(s, park), columns=list(LANDED_COLUMNS))
    engine.dispose()
    firms = realised_against_predicted(landed, tax)
    summary = coverage_summary(firms)
    run_id = log_monitor(
        settings,
        target,
        firms,
        summary,
        plot=lambda frame, path: save_png(path, realised_chart(frame, "en")),
    )
    table = Table(title=f"{park}: realised against predicted tax · MLflow run {run_id}")
    for column in (
        "model",
        "track",
        "landed firms",
        "P10–P90 coverage",
        "within ×2",
        "median ratio",
    ):
        table.add_column(column, justify="left" if column in ("model", "track") else "right")
    for row in summary.itertuples(index=False):
        table.add_row(
            str(row.model_version),
            str(row.track),
            f"{row.landed:,}",
            f"{row.coverage:.1%}",
            f"{row.within_x2:.1%}",
            f"{row.median_ratio:.2f}",
        )
    console.print(table)
    console.print(
        f"{landed['enterprise_id'].nunique():,} landed firms, {len(firms):,} with tax records "
        "after their landing year",
        highlight=False,
    )
    for drift in drifts(summary, target):
        err_console.print(f"[yellow]warning:[/yellow] {drift.message()}", highlight=False)


@app.command("demo-history")
def demo_history(
    park: ParkOption = "shibei",
    per_track: Annotated[int, typer.Option(help="Leads the officers take from each list.")] = 60,
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write tax_records.csv (default: <home>/demo-history)."),
    ] = None,
    if_empty: Annotated[
        bool,
        typer.Option(help="Do nothing (exit 0) when the pipeline already holds the park's leads."),
    ] = False,
) -> None:
    """Simulate the plan period 2021–2025 on the demo: the officers work the champion's lists,
    firms land by the generator's truth, the pipeline records it all, and the tax bureau's
    2021–2025 records are written for `attract import table tax_records … --append`."""
    import pandas as pd
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session, sessionmaker

    from api.cli.service import _ready_engine
    from api.crm.tables import PipelineLead
    from api.demo.plan_period import simulate_plan_period

    settings = get_settings()
    oracle_path = settings.universe_dir / "oracle.parquet"
    if not oracle_path.exists():
        raise fail(
            f"{oracle_path}: missing; the plan-period history needs the demo (`attract demo`)"
        )
    engine = _ready_engine()
    with Session(engine) as s:
        held = s.scalar(select(func.count()).where(PipelineLead.park_id == park)) or 0
    if held and if_empty:
        console.print(
            f"the pipeline already holds {held} leads of {park}: the plan period is not simulated again",
            highlight=False,
        )
        return
    state = _loaded(park)
    try:
        history = simulate_plan_period(
            state,
            sessionmaker(engine, expire_on_commit=False),
            pd.read_parquet(oracle_path),
            seed=settings.seed,
            per_track=per_track,
        )
    except ValueError as exc:
        raise fail(str(exc)) from exc
    folder = out or settings.home / "demo-history"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tax_records.csv"
    history.tax_records.to_csv(path, index=False)
    console.print(
        f"pipeline: {history.leads} leads · {history.landed} landed · {history.lost} lost · "
        f"{history.open} open\ntax records 2021–2025: {len(history.tax_records):,} rows → {path}",
        highlight=False,
    )
