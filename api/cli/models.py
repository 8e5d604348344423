"""``attract train``, ``promote``, ``leads``, ``score``, ``tax …``: the models and what they rank."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from data.loaders import DataFileError
from data.reference import default_chains, default_parks, track_error
from data.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date
    from typing import Any

    import pandas as pd

    from data.corrections import LinkCorrection
    from models.registry import LoadedScorer

from api.cli import ParkOption, app, console, data_folder, err_console, fail
from training.metric_names import glossary

SchedulerOption = Annotated[
    str | None, typer.Option(help="Dask scheduler address (tcp://host:8786).")
]
WorkersOption = Annotated[
    int, typer.Option(help="Workers of a LocalCluster when no scheduler is given.")
]


def _pipeline(
    park: str,
) -> tuple[pd.DataFrame | None, dict[str, date], pd.DataFrame | None, pd.DataFrame | None]:
    """The service pipeline's resolved leads of ``park`` as outreach records, the firms that
    landed, the stage moves and the landed leads with the scores they had, or
    ``(None, {}, None, None)`` (said on stderr) when the service database is not there or not at
    this version's schema."""
    import pandas as pd
    from sqlalchemy.orm import sessionmaker

    from api.crm.migrate import schema_state
    from api.crm.pipeline import pipeline_outcomes, stage_events
    from api.crm.tables import LANDED_COLUMNS, landed_firms, landed_leads, make_engine

    settings = get_settings()
    engine = make_engine(settings.database)
    try:
        state = schema_state(engine)
        if state.kind != "ready":
            if state.kind != "empty":
                err_console.print(
                    f"pipeline outcomes not read: service database {state.message}",
                    highlight=False,
                )
            return None, {}, None, None
        outcomes = pipeline_outcomes(sessionmaker(engine), park)
        moves = stage_events(sessionmaker(engine), park)
        with sessionmaker(engine)() as s:
            landed = pd.DataFrame(landed_leads(s, park), columns=list(LANDED_COLUMNS))
    finally:
        engine.dispose()
    return outcomes, landed_firms(settings.database, park), moves, landed


def _corrections() -> list[LinkCorrection]:
    """The strategists' link corrections of the service database the settings name (said on
    stderr when there are some): training sees the links the service serves."""
    from api.crm.corrections import stored_corrections

    found = stored_corrections(get_settings().database)
    if found:
        err_console.print(
            f"{len(found)} link corrections of the service database applied over the attacher's",
            highlight=False,
        )
    return found


@app.command(epilog="Metrics the run logs (the model page shows them in words):\n\n" + glossary())
def train(
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    park: ParkOption = "shibei",
    engine: Annotated[str, typer.Option(help="local or dask (lightgbm.dask).")] = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
) -> None:
    """Train tax yield and landing propensity, judge the rankings; log one MLflow run; register a challenger."""
    from models.registry import model_name, tracking_uri
    from training.train import train as run_training

    settings = get_settings()
    try:
        if engine not in {"local", "dask"}:
            raise ValueError(f"--engine: must be local or dask (got {engine!r})")
        outcomes, joined, moves, landed = _pipeline(park)
        corrections = _corrections()
        result = run_training(
            settings=settings,
            data_dir=data_folder(data),
            park_id=park,
            engine=engine,
            scheduler=scheduler,
            workers=workers,
            outcomes=outcomes,
            joined=joined,
            stage_events=moves,
            landed=landed,
            corrections=corrections,
        )
    except (DataFileError, ValueError) as exc:
        raise fail(str(exc)) from exc
    table = Table(
        title=f"holdout metrics · run {result.run_id} · {model_name(park)} v{result.version} @challenger"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in sorted(result.metrics.items()):
        table.add_row(key, f"{value:,.4f}" if abs(value) < 100 else f"{value:,.0f}")
    console.print(table)
    for note in result.notes:
        console.print(f"  {note}", highlight=False)
    console.print(
        f"trained in {result.seconds:.1f} s · tracking {tracking_uri(settings)}", highlight=False
    )


@app.command()
def promote(park: ParkOption = "shibei") -> None:
    """Promote the challenger to champion if it beats the champion on the challenger's holdout."""
    from training.promote import promote as run_promote

    try:
        decision = run_promote(settings=get_settings(), park_id=park)
    except LookupError as exc:
        raise fail(str(exc)) from exc
    console.print(decision.message, highlight=False)


@app.command()
def leads(
    track: Annotated[str, typer.Option(help="A track of the park's YAML (Shibei: hq, bigdata).")],
    park: ParkOption = "shibei",
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    top: Annotated[int, typer.Option(help="How many leads (1-10,000).")] = 20,
    format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    include: Annotated[
        list[str] | None,
        typer.Option(
            help="Bring back a group the list leaves out: signed, open_in_pipeline or "
            "declined_recently (repeatable)."
        ),
    ] = None,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan/--no-plan",
            help="Rank with the contact plan's prices, as the served lists do (loads the service "
            "state and solves the plan at the park YAML's settings; parks without a contact "
            "plan rank by the model either way).",
        ),
    ] = True,
) -> None:
    """Rank candidates for a track with the champion model, with reasons; firms the park can no
    longer win (signed, landed or paying, open in the pipeline, lately declined) are left out.
    With the park's contact plan (the default where the YAML has one), the list is ranked by
    P(land) × (value + plan value) and shows both."""
    from api.serving.offered import INCLUDABLE
    from data.landing import track_forms
    from data.universe import load_universe, read_manifest
    from models.registry import load_scorer

    if format not in {"table", "csv", "json"}:
        raise fail(f"--format: must be table, csv or json (got {format!r})")
    if not 1 <= top <= 10_000:
        raise fail(f"--top: must be between 1 and 10,000 (got {top})")
    parks = default_parks()
    unknown_track = track_error(parks[park], track)
    if unknown_track is not None:
        raise fail(f"--{unknown_track}")
    brought_back = list(include or ())
    for group in brought_back:
        if group not in INCLUDABLE:
            raise fail(f"--include: {group!r} is not one of {', '.join(INCLUDABLE)}")
    folder = data_folder(data)
    settings = get_settings()
    planned = plan and parks[park].contact_plan is not None
    try:
        # the served list's path loads the universe with the service state
        tables = {} if planned else load_universe(folder, corrections=_corrections())
        manifest = read_manifest(folder)
        loaded = load_scorer(settings, park)
        loaded.scorer.check_forms(
            {t: list(track_forms(parks[park], t)) for t in parks[park].tracks}
        )
    except (DataFileError, LookupError, ValueError) as exc:
        raise fail(str(exc)) from exc
    if planned:
        result = _planned_leads(park, folder, track, top, tuple(brought_back))
    else:
        result = _model_leads(park, folder, track, top, brought_back, tables, loaded)
    _print_leads(result, park, track, format, loaded, manifest)


def _planned_leads(
    park: str, folder: Path, track: str, top: int, include: tuple[str, ...]
) -> pd.DataFrame:
    """The served list's head: the state loaded, the plan solved, the list ranked with it."""
    import pandas as pd

    from api.cli.service import _sessions
    from api.serving.lead_table import LeadFilters
    from api.serving.leads import leads_page
    from api.serving.plan import pipeline_now, plan_for
    from api.serving.state import load_state
    from models.leads import LEAD_COLUMNS

    settings = get_settings().model_copy(update={"park": park, "data_dir": folder})
    with console.status("loading the service state and solving the contact plan"):
        state = load_state(settings)
        if not state.ready:
            raise fail("; ".join(f"{k}: {v}" for k, v in state.status.items() if v != "ready"))
        plan_for(state, pipeline_now(state, _sessions()))
        page = leads_page(
            state,
            track=track,
            filters=LeadFilters(include=include),
            limit=top,
            offset=0,
            contacted=(),
        )
    items: list[dict[str, Any]] = page["items"]  # type: ignore[assignment]
    frame = pd.DataFrame(items)
    frame["chain_reasons"] = [[] for _ in range(len(frame))]
    columns = [*LEAD_COLUMNS, "plan_value_wan_cny", "plan_score_wan_cny", "overall_rank"]
    return frame.reindex(columns=columns)


def _model_leads(
    park: str,
    folder: Path,
    track: str,
    top: int,
    brought_back: list[str],
    tables: Mapping[str, pd.DataFrame],
    loaded: LoadedScorer,
) -> pd.DataFrame:
    """The model's ranking (no plan): the champion scores the universe's candidates."""
    from datetime import date

    from api.crm.tables import pipeline_states
    from data.universe import read_manifest, universe_as_of
    from features.build import feature_context
    from models.exclusions import excluded_ids, not_leads
    from models.leads import rank_leads

    parks = default_parks()
    settings = get_settings()
    manifest = read_manifest(folder)
    fc = feature_context(park=parks[park], chains=default_chains(), tables=tables)
    gone = not_leads(
        park=parks[park],
        park_roster=tables["park_roster"],
        outreach=tables["outreach"],
        pipeline=pipeline_states(settings.database, park),
        today=date.today(),
    )
    result = rank_leads(
        scorer=loaded.scorer,
        fc=fc,
        tables=tables,
        track=track,
        top=top,
        model_version=loaded.version,
        snapshot_id=str(manifest.get("snapshot_id", "")),
        as_of=universe_as_of(folder),
        excluded=excluded_ids(gone, track=track, bring_back=brought_back),
    )
    return result


def _print_leads(
    result: pd.DataFrame,
    park: str,
    track: str,
    format: str,
    loaded: LoadedScorer,
    manifest: Mapping[str, object],
) -> None:
    from data.landing import track_forms

    parks = default_parks()
    planned = "plan_score_wan_cny" in result
    if format == "json":
        typer.echo(result.to_json(orient="records", force_ascii=False, indent=2))
        return
    if format == "csv":
        flat = result.copy()
        for col in ("reasons", "chain_reasons"):
            flat[col] = flat[col].map(lambda rs: "; ".join(r["text_zh"] for r in rs))
        flat["links"] = flat["links"].map(" ".join)
        typer.echo(flat.to_csv(index=False), nl=False)
        return
    table = Table(
        title=f"{parks[park].name_zh} · {track} leads · model v{loaded.version} · data {manifest.get('snapshot_id')}"
        + {"prior": " · P(land) = prior", "roster": " · P(land) from the roster"}.get(
            loaded.scorer.p_land_source, ""
        )
    )
    for col in (
        "#",
        "firm",
        "location",
        "E[value] 万元",
        "P(land)",
        "value 万元",
        "landing form · share",
        "park tax P50 (P10–P90) 万元/年",
        "group tax P50 万元/年",
        "chain 万元/年",
        *(("plan value 万元", "E[value] with plan 万元") if planned else ()),
        "reasons",
    ):
        table.add_column(col, justify="left" if col in {"firm", "location", "reasons"} else "right")
    forms = track_forms(parks[park], track)
    for row in result.itertuples(index=False):
        reasons = [r["text_zh"] for r in [*row.chain_reasons, *row.reasons]]  # type: ignore[misc]
        table.add_row(
            str(row.rank),
            str(row.name),
            " ".join(str(x) for x in (row.province, row.city) if isinstance(x, str)),
            f"{row.score:,.0f}",
            f"{row.p_land:.1%}",
            f"{row.value_wan_cny:,.0f}",
            # a form the YAML no longer names (renamed since training) shows its id
            f"{getattr(forms.get(str(row.landing_form)), 'name_zh', row.landing_form)} · "
            f"{row.in_park_tax_share:.1%}",
            f"{row.tax_p50_wan_cny:,.0f} ({row.tax_p10_wan_cny:,.0f}–{row.tax_p90_wan_cny:,.0f})",
            f"{row.group_tax_p50_wan_cny:,.0f}",
            f"{row.chain_value_wan_cny:,.0f}",
            *((_wan(row.plan_value_wan_cny), _wan(row.plan_score_wan_cny)) if planned else ()),
            "；".join(reasons),
        )
    console.print(table)


def _wan(value: object) -> str:
    return "—" if value is None or value != value else f"{float(value):,.0f}"  # type: ignore[arg-type]


tax_app = typer.Typer(
    help="Tax yield of real listed firms from annual reports, out of time.", no_args_is_help=True
)
app.add_typer(tax_app, name="tax")


@tax_app.command("fit")
def tax_fit(
    reports: Annotated[Path, typer.Option(help="Annual-report folder (A-share format).")],
    chainkg: Annotated[Path, typer.Option(help="ChainKnowledgeGraph folder.")],
    model_out: Annotated[Path, typer.Option(help="Where to write the model (joblib).")],
) -> None:
    """Fit the real-data tax model on every usable firm-year of the folder."""
    from training import tax_real

    try:
        model = tax_real.fit(reports=reports, chainkg=chainkg)
    except (DataFileError, ValueError) as exc:
        raise fail(str(exc)) from exc
    tax_real.save(model, model_out)
    console.print(f"fitted on years {model.fit_years}; wrote {model_out}", highlight=False)


@tax_app.command("predict")
def tax_predict(
    reports: Annotated[Path, typer.Option(help="Annual-report folder (A-share format).")],
    chainkg: Annotated[Path, typer.Option(help="ChainKnowledgeGraph folder.")],
    model: Annotated[Path, typer.Option(help="A model written by `attract tax fit`.")],
    out: Annotated[
        Path, typer.Option(help="Output CSV: stock_code, year, tax_p10/p50/p90_wan_cny.")
    ],
) -> None:
    """Predict taxes paid (万元, P10/P50/P90) for every firm-year of the folder."""
    from training import tax_real

    try:
        fitted = tax_real.load(model)
        pred = tax_real.predict(fitted, reports=reports, chainkg=chainkg)
    except (DataFileError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    pred.to_csv(out, index=False, float_format="%.3f")
    empty = int(pred["tax_p50_wan_cny"].isna().sum())
    console.print(
        f"wrote {len(pred):,} firm-years to {out}"
        + (f" ({empty:,} without revenue have no prediction)" if empty else ""),
        highlight=False,
    )


@tax_app.command("backtest")
def tax_backtest(
    reports: Annotated[Path, typer.Option(help="Annual-report folder (A-share format).")],
    chainkg: Annotated[Path, typer.Option(help="ChainKnowledgeGraph folder.")],
    fit_year: Annotated[int, typer.Option(help="Fit on this year only.")] = 2019,
    eval_year: Annotated[int, typer.Option(help="Judge on this later year.")] = 2020,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Out-of-time check against the industry-median tax/revenue baseline."""
    from training import tax_real

    if eval_year <= fit_year:
        raise fail(f"--eval-year: must be after --fit-year ({eval_year} <= {fit_year})")
    try:
        result = tax_real.backtest(
            reports=reports, chainkg=chainkg, fit_year=fit_year, eval_year=eval_year
        )
    except (DataFileError, ValueError) as exc:
        raise fail(str(exc)) from exc
    if format == "json":
        typer.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"tax paid, fit FY{fit_year} → judged on FY{eval_year}")
    for col in ("", "firm-years", "within ×2", "median |log10 error|", "P10–P90 coverage"):
        table.add_column(col, justify="right" if col else "left")
    for name, m in result.items():
        table.add_row(
            name,
            f"{m['firm_years']:,.0f}",
            f"{m['share_within_x2']:.1%}",
            f"{m['median_abs_log10_error']:.3f}",
            f"{m['p10_p90_coverage']:.1%}",
        )
    console.print(table)


@app.command()
def score(
    out: Annotated[Path, typer.Option(help="Output folder of part-*.parquet.")],
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    park: ParkOption = "shibei",
    engine: Annotated[str, typer.Option(help="local or dask.")] = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
) -> None:
    """Score every candidate of a universe with the champion model (batch), locally or on Dask."""
    from training.batch import score_dask, score_local

    if engine not in {"local", "dask"}:
        raise fail(f"--engine: must be local or dask (got {engine!r})")
    if workers < 1:
        raise fail(f"--workers: must be at least 1 (got {workers})")
    try:
        if engine == "dask":
            run = score_dask(
                settings=get_settings(),
                data_dir=data_folder(data),
                out_dir=out,
                park_id=park,
                scheduler=scheduler,
                workers=workers,
            )
        else:
            run = score_local(
                settings=get_settings(), data_dir=data_folder(data), out_dir=out, park_id=park
            )
    except (DataFileError, LookupError) as exc:
        raise fail(str(exc)) from exc
    console.print(
        f"{run.engine}: {run.rows:,} scored rows in {run.partitions} partitions, {run.seconds:.1f} s → {out}",
        highlight=False,
    )
