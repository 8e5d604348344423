"""The ``attract`` command line."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from data.loaders import DataFileError, LoadResult, load_table, write_parquet, write_rejects
from data.reference import ReferenceDataError, default_chains, default_parks
from data.schemas import TABLES
from data.settings import get_settings

if TYPE_CHECKING:
    import pandas as pd

    from industry_graph.attach import Attachment

app = typer.Typer(
    help="Shibei Attract: investment-attraction leads, chain gaps and models.", no_args_is_help=True
)
import_app = typer.Typer(help="Import outside data into contract tables.", no_args_is_help=True)
app.add_typer(import_app, name="import")
# wide tables when piped (a file, CI log), the terminal's width otherwise
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 220)
err_console = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code=2)


@app.command()
def demo(
    candidates: Annotated[
        int, typer.Option(help="Candidate firms nationwide besides the parks.")
    ] = 200_000,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (default: the project SEED).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: .attract/demo).")
    ] = None,
) -> None:
    """Generate the synthetic, calibrated demo universe and print its summary."""
    from data.demo.generator import write
    from data.demo.summary import candidate_aggregates, park_aggregates
    from industry_graph.demo import build_demo

    settings = get_settings()
    seed = settings.seed if seed is None else seed
    out = out or settings.demo_dir
    if candidates < 1_000:
        raise _fail(f"--candidates: must be at least 1,000 (got {candidates})")
    started = time.perf_counter()
    with tqdm(total=8, desc="demo universe", unit="stage") as bar:
        started_stages = 0

        def stage(message: str) -> None:  # called as each stage starts; the previous one is done
            nonlocal started_stages
            if started_stages:
                bar.update(1)
            started_stages += 1
            bar.set_postfix_str(message)

        universe, attachment = build_demo(candidates=candidates, seed=seed, progress=stage)
        stage("writing parquet")
        write(universe, out)
        bar.update(1)
    elapsed = time.perf_counter() - started
    parks = default_parks()
    table = Table(title=f"Shibei (synthetic) vs the plan — {out}", show_lines=False)
    table.add_column("figure")
    table.add_column("plan", justify="right")
    table.add_column("demo", justify="right")
    figures = park_aggregates(universe.tables, parks["shibei"])
    baseline = parks["shibei"].baseline
    for key, value in figures.items():
        plan = baseline.get(key.removesuffix("_firms") + "_firms", baseline.get(key))
        table.add_row(
            key,
            "" if plan is None else f"{plan:,.0f}",
            f"{value:,.3f}" if value < 1 else f"{value:,.0f}",
        )
    console.print(table)
    cands = candidate_aggregates(universe.tables)
    console.print(
        f"candidates {cands['candidates']:,.0f} · tax/revenue p05 {cands['tax_rate_p05']:.2%} "
        f"median {cands['tax_rate_median']:.2%} p95 {cands['tax_rate_p95']:.2%} (A-share: 1.0 / 4.9 / 15.5 %) · "
        f"revenue median {cands['revenue_median_wan_cny']:,.0f} wan, p99 {cands['revenue_p99_wan_cny']:,.0f} wan"
    )
    console.print(
        f"outreach {cands['outreach_contacts']:,.0f} contacts, {cands['outreach_signed']:,.0f} signed, "
        f"{cands['outreach_pending']:,.0f} pending · snapshot {universe.manifest['snapshot_id']} · "
        f"seed {seed} · {elapsed:.1f} s"
    )
    _print_attachment(attachment)


def _print_load(result: LoadResult, written: Path, rejects: Path) -> None:
    s = result.summary()
    console.print(
        f"{result.table}: {s['source_rows']:,} rows read · [green]{s['accepted']:,} accepted[/green] · "
        f"[red]{s['rejected']:,} rejected[/red] · {s['values_cleared']:,} values cleared",
        highlight=False,
    )
    normalisations = s["normalisations"]
    assert isinstance(normalisations, dict)
    for what, count in normalisations.items():
        console.print(f"  normalised: {what}: {count:,}", highlight=False)
    if result.unmapped_columns:
        console.print(
            f"  kept as extra columns (no contract column): {', '.join(result.unmapped_columns)}",
            highlight=False,
        )
    reasons = s["reject_reasons"]
    assert isinstance(reasons, dict)
    for reason, count in reasons.items():
        console.print(f"  {count:>7,} × {reason}", highlight=False)
    console.print(f"wrote {written}\nrejects {rejects}", highlight=False)


@import_app.command("enterprises")
def import_enterprises_cmd(
    file: Annotated[Path, typer.Argument(help="CSV, Excel (.xlsx) or parquet registry export.")],
    out: Annotated[Path, typer.Option(help="Output folder for enterprises.parquet and rejects/.")],
) -> None:
    """Import an enterprise registry export (contract or common Chinese headers) and attach its
    firms to chain links from their business scope (经营范围) or industry code."""
    from data.importers import import_enterprises
    from industry_graph.attach import attach_universe

    try:
        result = import_enterprises(file)
    except DataFileError as exc:
        raise _fail(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    written = write_parquet(result.frame, out / "enterprises.parquet")
    rejects = write_rejects(result, out)
    results = {"enterprises": result}
    attachment = attach_universe(results, source=file)
    links = results["enterprise_links"]
    write_parquet(links.frame, out / "enterprise_links.parquet")
    write_rejects(links, out)
    report = result.summary() | {"attachment": _attachment_report(attachment)}
    (out / "rejects" / "enterprises.report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    _print_load(result, written, rejects)
    _print_attachment(attachment)


@import_app.command("table")
def import_table_cmd(
    table: Annotated[str, typer.Argument(help=f"Contract table: {', '.join(TABLES)}.")],
    file: Annotated[
        Path, typer.Argument(help="CSV, Excel (.xlsx) or parquet file in the contract's columns.")
    ],
    out: Annotated[Path, typer.Option(help="Output folder for <table>.parquet and rejects/.")],
) -> None:
    """Validate and import any contract table (outreach, tax_records, park_roster, ...)."""
    if table not in TABLES:
        raise _fail(f"table: unknown table {table!r}; choose one of {', '.join(TABLES)}")
    try:
        result = load_table(file, table=table)
    except DataFileError as exc:
        raise _fail(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    written = write_parquet(result.frame, out / f"{table}.parquet")
    _print_load(result, written, write_rejects(result, out))


@import_app.command("chainkg")
def import_chainkg_cmd(
    folder: Annotated[
        Path, typer.Argument(help="ChainKnowledgeGraph folder (company.json, industry.json, ...).")
    ],
    out: Annotated[Path, typer.Option(help="Output universe folder.")],
) -> None:
    """Import the public ChainKnowledgeGraph JSON-lines files into contract tables."""
    from data.chainkg import import_chainkg
    from data.universe import write_universe
    from industry_graph.attach import attach_universe

    started = time.perf_counter()
    try:
        imported = import_chainkg(folder)
    except DataFileError as exc:
        raise _fail(str(exc)) from exc
    attachment = attach_universe(imported.results, source=folder)
    write_universe(
        out,
        imported.results,
        source=f"chainkg:{folder}",
        extra={
            "normalisations": dict(imported.normalisations),
            "attachment": _attachment_report(attachment),
        },
    )
    _print_results(imported.results, imported.normalisations, out, time.perf_counter() - started)
    _print_attachment(attachment)


@import_app.command("ashare")
def import_ashare_cmd(
    reports: Annotated[
        Path, typer.Option(help="Annual-report folder (profit_statement.csv, ...).")
    ],
    chainkg: Annotated[Path, typer.Option(help="ChainKnowledgeGraph folder.")],
    out: Annotated[Path, typer.Option(help="Output universe folder.")],
    stock_basic: Annotated[
        Path | None, typer.Option(help="Tushare stock_basic.csv (province fallback).")
    ] = None,
    park: Annotated[str, typer.Option(help="Park whose roster to build.")] = "shibei",
    roster: Annotated[
        Path | None, typer.Option(help="File of enterprise ids or stock codes, one per line.")
    ] = None,
    roster_district: Annotated[
        str | None, typer.Option(help="Roster = firms registered or with an office here.")
    ] = None,
) -> None:
    """Build a universe of real listed firms (financials, taxes, locations, chain links)."""
    from data.ashare import import_ashare
    from data.universe import write_universe
    from industry_graph.attach import attach_universe

    if park not in default_parks():
        raise _fail(f"--park: unknown park {park!r}; choose one of {', '.join(default_parks())}")
    started = time.perf_counter()
    try:
        ids = None
        if roster is not None:
            if not roster.exists():
                raise DataFileError(f"{roster}: no such file")
            ids = [line.split(",")[0] for line in roster.read_text(encoding="utf-8").splitlines()]
        imported = import_ashare(
            reports=reports,
            chainkg=chainkg,
            stock_basic=stock_basic,
            park_id=park,
            roster_ids=ids,
            roster_district=roster_district,
        )
    except DataFileError as exc:
        raise _fail(str(exc)) from exc
    attachment = attach_universe(imported.results, source=reports)
    write_universe(
        out,
        imported.results,
        source=f"ashare:{reports}",
        extra={
            "park_id": park,
            "roster_district": roster_district,
            "normalisations": dict(imported.normalisations),
            "attachment": _attachment_report(attachment),
        },
    )
    _print_results(imported.results, imported.normalisations, out, time.perf_counter() - started)
    _print_attachment(attachment)


def _attachment_report(attachment: Attachment) -> dict[str, object]:
    """What the attacher did, for manifests and reports."""
    from industry_graph.attach import links_by_chain

    return {
        "counts": dict(sorted(attachment.counts.items())),
        "firms_by_evidence": attachment.by_kind(),
        "firms_by_chain": links_by_chain(attachment.links, default_chains()),
    }


def _print_attachment(attachment: Attachment) -> None:
    from industry_graph.attach import links_by_chain

    table = Table(title="chain links from evidence (firms)")
    table.add_column("evidence / chain")
    table.add_column("firms", justify="right")
    for kind, n in attachment.by_kind().items():
        table.add_row(f"evidence: {kind}", f"{n:,}")
    for chain, n in links_by_chain(attachment.links, default_chains()).items():
        table.add_row(f"chain: {chain}", f"{n:,}")
    console.print(table)
    for what, n in sorted(attachment.counts.items()):
        console.print(f"  {what}: {n:,}", highlight=False)


def _print_results(
    results: dict[str, LoadResult], normalisations: Counter[str], out: Path, seconds: float
) -> None:
    table = Table(title=f"import → {out} ({seconds:.1f} s)")
    for col in ("table", "rows read", "accepted", "rejected", "values cleared"):
        table.add_column(col, justify="right" if col != "table" else "left")
    for name, r in results.items():
        table.add_row(
            name, f"{r.source_rows:,}", f"{r.accepted:,}", f"{r.rejected:,}", f"{r.cleared:,}"
        )
    console.print(table)
    for what, count in sorted(normalisations.items()):
        console.print(f"  {what}: {count:,}", highlight=False)
    console.print(
        f"rejects in {out / 'rejects'}, counts in {out / 'manifest.json'}", highlight=False
    )


graph_app = typer.Typer(help="The industry-chain knowledge graph.", no_args_is_help=True)
app.add_typer(graph_app, name="graph")


def _data_dir(data: Path | None) -> Path:
    return data if data is not None else get_settings().demo_dir


@graph_app.command("stats")
def graph_stats_cmd(
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    enterprises: Annotated[
        bool, typer.Option(help="Include enterprise nodes and their edges.")
    ] = True,
) -> None:
    """Node and edge counts of the knowledge graph by type."""
    from data.universe import load_universe
    from industry_graph.graph import build_graph, graph_stats

    started = time.perf_counter()
    try:
        tables = load_universe(_data_dir(data))
    except DataFileError as exc:
        raise _fail(str(exc)) from exc
    graph = build_graph(
        chains=default_chains(),
        tables=tables,
        parks=default_parks(),
        include_enterprises=enterprises,
    )
    stats = graph_stats(graph)
    table = Table(
        title=f"knowledge graph of {_data_dir(data)} ({time.perf_counter() - started:.1f} s)"
    )
    table.add_column("kind")
    table.add_column("type")
    table.add_column("count", justify="right")
    for kind in ("nodes", "edges"):
        for name, count in stats[kind].items():
            table.add_row(kind, name, f"{count:,}")
        table.add_row(kind, "[b]total[/b]", f"[b]{sum(stats[kind].values()):,}[/b]")
    console.print(table)


@app.command()
def gaps(
    park: Annotated[str, typer.Option(help="Park id (shibei, nantong).")] = "shibei",
    chain: Annotated[
        str, typer.Option(help="Chain id (big_data, ...) or sw:<Shenwan code> to derive one.")
    ] = "big_data",
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    roster_district: Annotated[
        str | None, typer.Option(help="Use the firms of this district as the park.")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """A chain's gaps for a park: 补链 (missing_broken), 强链 (weak), 延链 (extension)."""
    import pandas as pd

    from data.universe import load_universe
    from industry_graph.derive import DERIVED_PREFIX, derive_chain, derived_memberships
    from industry_graph.gaps import analyse_gaps, park_context

    if format not in {"table", "json"}:
        raise _fail(f"--format: must be table or json (got {format!r})")
    parks = default_parks()
    if park not in parks:
        raise _fail(f"--park: unknown park {park!r}; choose one of {', '.join(parks)}")
    all_chains = dict(default_chains())
    derived = chain.startswith(DERIVED_PREFIX)
    if not derived and chain not in all_chains:
        raise _fail(
            f"--chain: unknown chain {chain!r}; choose one of {', '.join(all_chains)} or sw:<Shenwan code>"
        )
    needed = ["enterprises", "enterprise_links", "park_roster"] + (
        ["industries", "industry_relations"] if derived else []
    )
    try:
        tables = load_universe(_data_dir(data), needed)
    except DataFileError as exc:
        raise _fail(str(exc)) from exc
    if derived:
        try:
            made = derive_chain(
                industries=tables["industries"],
                industry_relations=tables["industry_relations"],
                root_code=chain.removeprefix(DERIVED_PREFIX),
            )
        except (KeyError, ValueError) as exc:
            raise _fail(f"--chain: {exc}") from exc
        all_chains[made.id] = made
        chain = made.id
        tables["enterprise_links"] = pd.concat(
            [tables["enterprise_links"], derived_memberships(made, tables["enterprises"])],
            ignore_index=True,
        )
    roster = tables["park_roster"]
    if roster_district is not None:
        from data.ashare import roster_from

        roster, _ = roster_from(
            tables["enterprises"], park_id=park, roster_district=roster_district
        )
        if roster.empty:
            raise _fail(f"--roster-district: no firm of the universe is in {roster_district!r}")
    ctx = park_context(
        park=parks[park],
        chains=all_chains,
        enterprises=tables["enterprises"],
        enterprise_links=tables["enterprise_links"],
        park_roster=roster,
    )
    result = analyse_gaps(ctx, chain)
    present = _park_firms_by_link(tables, roster)
    if format == "json":
        payload = {
            "park": park,
            "chain": chain,
            "park_firms": ctx.roster_size,
            "links": [g.to_dict() | {"firms_evidence": present.get(g.link_id, [])} for g in result],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    table = Table(
        title=f"{parks[park].name_zh} · {all_chains[chain].name_zh} — gaps ({ctx.roster_size:,} park firms)"
    )
    columns = ("link", "环节", "firms", "target", "revenue (wan)", "type", "score", "reason")
    for col in (*columns, "park firms (share · evidence)"):
        table.add_column(
            col, justify="right" if col in {"firms", "target", "revenue (wan)", "score"} else "left"
        )
    for g in result:
        table.add_row(
            g.link_id,
            g.name_zh,
            f"{g.firms:.1f}",
            f"{g.target:.1f}",
            f"{g.revenue_wan_cny:,.0f}",
            g.gap_type,
            f"{g.score:.3f}",
            g.reason_zh,
            "\n".join(present.get(g.link_id, [])[:5]),
        )
    console.print(table)


def _park_firms_by_link(
    tables: dict[str, pd.DataFrame], roster: pd.DataFrame
) -> dict[str, list[str]]:
    """Per link, the park firms in it with their share and the evidence (largest share first)."""
    from data import columns as C

    links = tables["enterprise_links"]
    links = links[links[C.ENTERPRISE_ID].isin(set(roster[C.ENTERPRISE_ID]))]
    names = tables["enterprises"].set_index(C.ENTERPRISE_ID)[C.NAME]
    links = links.sort_values(C.SHARE, ascending=False, kind="stable")
    out: dict[str, list[str]] = {}
    for row in links.to_dict("records"):
        evidence = row.get(C.EVIDENCE)
        kind = row.get(C.EVIDENCE_KIND)
        what = f"{kind}: {evidence}" if isinstance(evidence, str) else str(kind or "")
        out.setdefault(str(row[C.LINK_ID]), []).append(
            f"{names.get(row[C.ENTERPRISE_ID], row[C.ENTERPRISE_ID])} {float(row[C.SHARE]):.2f} · {what}"
        )
    return out


SchedulerOption = Annotated[
    str | None, typer.Option(help="Dask scheduler address (tcp://host:8786).")
]
WorkersOption = Annotated[
    int, typer.Option(help="Workers of a LocalCluster when no scheduler is given.")
]


@app.command()
def train(
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    park: Annotated[str, typer.Option(help="Park id.")] = "shibei",
    engine: Annotated[str, typer.Option(help="local or dask (lightgbm.dask).")] = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
) -> None:
    """Train tax yield, landing propensity and ranking; log one MLflow run; register a challenger."""
    from models.registry import model_name, tracking_uri
    from training.train import train as run_training

    if park not in default_parks():
        raise _fail(f"--park: unknown park {park!r}; choose one of {', '.join(default_parks())}")
    settings = get_settings()
    try:
        if engine not in {"local", "dask"}:
            raise ValueError(f"--engine: must be local or dask (got {engine!r})")
        result = run_training(
            settings=settings,
            data_dir=_data_dir(data),
            park_id=park,
            engine=engine,
            scheduler=scheduler,
            workers=workers,
        )
    except (DataFileError, ValueError) as exc:
        raise _fail(str(exc)) from exc
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
def promote(park: Annotated[str, typer.Option(help="Park id.")] = "shibei") -> None:
    """Promote the challenger to champion if it beats the champion on the challenger's holdout."""
    from training.promote import promote as run_promote

    try:
        decision = run_promote(settings=get_settings(), park_id=park)
    except LookupError as exc:
        raise _fail(str(exc)) from exc
    console.print(decision.message, highlight=False)


@app.command()
def leads(
    track: Annotated[str, typer.Option(help="A track of the park's YAML (Shibei: hq, bigdata).")],
    park: Annotated[str, typer.Option(help="Park id.")] = "shibei",
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    top: Annotated[int, typer.Option(help="How many leads (1-10,000).")] = 20,
    format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Rank candidates for a track with the champion model, with reasons."""
    from data.universe import load_universe, read_manifest, universe_as_of
    from features.build import feature_context
    from models.leads import rank_leads
    from models.registry import load_scorer

    if format not in {"table", "csv", "json"}:
        raise _fail(f"--format: must be table, csv or json (got {format!r})")
    if not 1 <= top <= 10_000:
        raise _fail(f"--top: must be between 1 and 10,000 (got {top})")
    parks = default_parks()
    if park not in parks:
        raise _fail(f"--park: unknown park {park!r}; choose one of {', '.join(parks)}")
    if track not in parks[park].tracks:
        raise _fail(
            f"--track: {park} has no track {track!r}; its tracks: {', '.join(parks[park].tracks)}"
        )
    folder = _data_dir(data)
    try:
        tables = load_universe(folder)
        manifest = read_manifest(folder)
        loaded = load_scorer(get_settings(), park)
    except (DataFileError, LookupError) as exc:
        raise _fail(str(exc)) from exc
    fc = feature_context(park=parks[park], chains=default_chains(), tables=tables)
    result = rank_leads(
        scorer=loaded.scorer,
        fc=fc,
        tables=tables,
        track=track,
        top=top,
        model_version=loaded.version,
        snapshot_id=str(manifest.get("snapshot_id", "")),
        as_of=universe_as_of(folder),
    )
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
        + (" · P(land) = prior" if loaded.scorer.p_land_source == "prior" else "")
    )
    for col in (
        "#",
        "firm",
        "location",
        "E[value] 万元",
        "P(land)",
        "value 万元",
        "tax P50 (P10–P90) 万元/年",
        "chain 万元/年",
        "reasons",
    ):
        table.add_column(col, justify="left" if col in {"firm", "location", "reasons"} else "right")
    for row in result.itertuples(index=False):
        reasons = [r["text_zh"] for r in [*row.chain_reasons, *row.reasons]]  # type: ignore[misc]
        table.add_row(
            str(row.rank),
            str(row.name),
            f"{row.province} {row.city}",
            f"{row.score:,.0f}",
            f"{row.p_land:.1%}",
            f"{row.value_wan_cny:,.0f}",
            f"{row.tax_p50_wan_cny:,.0f} ({row.tax_p10_wan_cny:,.0f}–{row.tax_p90_wan_cny:,.0f})",
            f"{row.chain_value_wan_cny:,.0f}",
            "；".join(reasons),
        )
    console.print(table)


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
        raise _fail(str(exc)) from exc
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
        raise _fail(str(exc)) from exc
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
        raise _fail(f"--eval-year: must be after --fit-year ({eval_year} <= {fit_year})")
    try:
        result = tax_real.backtest(
            reports=reports, chainkg=chainkg, fit_year=fit_year, eval_year=eval_year
        )
    except (DataFileError, ValueError) as exc:
        raise _fail(str(exc)) from exc
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


keys_app = typer.Typer(help="API keys of the service.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="officer (read, outreach) or analyst (everything).")],
    label: Annotated[str, typer.Option(help="Who or what the key is for.")] = "",
) -> None:
    """Create an API key; it is printed once, alone, on the last line, and stored only hashed."""
    from sqlalchemy.orm import sessionmaker

    from api.db import ROLES, create_key, ensure_schema, make_engine

    if role not in ROLES:
        raise _fail(f"--role: must be one of {', '.join(ROLES)} (got {role!r})")
    settings = get_settings()
    engine = make_engine(settings.database)
    status = ensure_schema(engine)
    if status != "ready":
        raise _fail(f"database {status}")
    key = create_key(sessionmaker(engine), role=role, label=label)
    err_console.print(
        f"created a {role} key (store it now: it is not shown again)", highlight=False
    )
    typer.echo(key)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    park: Annotated[
        str | None, typer.Option(help="Park to serve (default ATTRACT_PARK or shibei).")
    ] = None,
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the API (docs at /docs); it answers at once and /api/v1/ready says when it is loaded."""
    import os

    import uvicorn

    if park is not None:
        os.environ["ATTRACT_PARK"] = park
    if data is not None:
        os.environ["ATTRACT_DATA_DIR"] = str(data.resolve())
    # a tracking server that does not answer must not hold the load for minutes (MLflow's own
    # default backs off seven times): /ready says why and /admin/reload tries again
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    get_settings.cache_clear()
    settings = get_settings()
    if settings.park not in default_parks():
        raise _fail(
            f"--park: unknown park {settings.park!r}; choose one of {', '.join(default_parks())}"
        )
    err_console.print(
        f"serving {settings.park} from {settings.universe_dir} on http://{host}:{port} "
        f"(docs http://{host}:{port}/docs)",
        highlight=False,
    )
    uvicorn.run(
        "api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info"
    )


@app.command()
def score(
    out: Annotated[Path, typer.Option(help="Output folder of part-*.parquet.")],
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    park: Annotated[str, typer.Option(help="Park id.")] = "shibei",
    engine: Annotated[str, typer.Option(help="local or dask.")] = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
) -> None:
    """Score every candidate of a universe with the champion model (batch), locally or on Dask."""
    from training.batch import score_dask, score_local

    if engine not in {"local", "dask"}:
        raise _fail(f"--engine: must be local or dask (got {engine!r})")
    if park not in default_parks():
        raise _fail(f"--park: unknown park {park!r}; choose one of {', '.join(default_parks())}")
    if workers < 1:
        raise _fail(f"--workers: must be at least 1 (got {workers})")
    try:
        if engine == "dask":
            run = score_dask(
                settings=get_settings(),
                data_dir=_data_dir(data),
                out_dir=out,
                park_id=park,
                scheduler=scheduler,
                workers=workers,
            )
        else:
            run = score_local(
                settings=get_settings(), data_dir=_data_dir(data), out_dir=out, park_id=park
            )
    except (DataFileError, LookupError) as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"{run.engine}: {run.rows:,} scored rows in {run.partitions} partitions, {run.seconds:.1f} s → {out}",
        highlight=False,
    )


@app.command()
def chains(
    park: Annotated[str | None, typer.Option(help="Only the chains this park targets.")] = None,
) -> None:
    """List the curated chains and their links."""
    try:
        all_chains = default_chains()
        parks = default_parks()
    except ReferenceDataError as exc:
        raise _fail(str(exc)) from exc
    if park is not None and park not in parks:
        raise _fail(f"--park: unknown park {park!r}; choose one of {', '.join(parks)}")
    wanted = [t.id for t in parks[park].chains] if park else list(all_chains)
    for chain_id in wanted:
        chain = all_chains[chain_id]
        table = Table(title=f"{chain.id} · {chain.name_zh} · {chain.name_en}")
        for col in ("link", "名称", "name", "weight", "upstream", "GB/T 4754", "Shenwan"):
            table.add_column(col)
        for link in chain.links:
            table.add_row(
                link.id,
                link.name_zh,
                link.name_en,
                f"{link.weight:.1f}",
                ", ".join(link.upstream),
                " ".join(link.gbt4754),
                " ".join(link.sw2021),
            )
        console.print(table)


if __name__ == "__main__":  # pragma: no cover
    app()
