"""``attract demo`` and ``attract import …``: the demo universe and outside data into contract tables."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from tqdm import tqdm

from data.loaders import DataFileError, LoadResult, load_table, write_parquet, write_rejects
from data.reference import default_chains, default_parks
from data.schemas import TABLES
from data.settings import get_settings

if TYPE_CHECKING:
    from industry_graph.attach import Attachment

from api.cli import ParkOption, app, console, fail, import_app


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
        raise fail(f"--candidates: must be at least 1,000 (got {candidates})")
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
        raise fail(str(exc)) from exc
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
    append: Annotated[
        bool,
        typer.Option(
            help="Add the rows to the folder's table instead of replacing it (rows it holds "
            "already are skipped; a held key with other values refuses the whole file)."
        ),
    ] = False,
) -> None:
    """Validate and import any contract table (outreach, tax_records, park_roster, ...); with
    --append, new tax records of a year (the tax bureau's yearly report) join the held ones."""
    from data.universe import append_rows, load_universe

    if table not in TABLES:
        raise fail(f"table: unknown table {table!r}; choose one of {', '.join(TABLES)}")
    try:
        result = load_table(file, table=table)
        frame = result.frame
        if append:
            if not (out / f"{table}.parquet").exists():
                raise DataFileError(f"--append: {out / f'{table}.parquet'} does not exist yet")
            held = load_universe(out, [table])[table]
            frame, added, same = append_rows(held, result.frame, table)
    except DataFileError as exc:
        raise fail(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    written = write_parquet(frame, out / f"{table}.parquet")
    _print_load(result, written, write_rejects(result, out))
    if append:
        console.print(
            f"appended {added:,} rows ({same:,} already held) · {len(frame):,} rows in {table}",
            highlight=False,
        )


CorrectionsDbOption = Annotated[
    str | None,
    typer.Option(
        "--corrections-db",
        help="Service database whose link corrections apply over the new links (default: the "
        "settings' ATTRACT_DATABASE_URL or <ATTRACT_HOME>/service.db).",
    ),
]


def _corrections_report(results: dict[str, LoadResult], url: str | None) -> dict[str, object]:
    """How the stored link corrections apply to a new import: the universe keeps the attacher's
    links and every load (server, train, leads) applies the corrections over them, so they last
    through the import; this says how many apply and how many name firms it no longer has."""
    import pandas as pd

    from api.crm.corrections import stored_corrections
    from data import columns as C
    from data.corrections import apply_corrections

    found = stored_corrections(url or get_settings().database)
    firms = results["enterprises"].frame[C.ENTERPRISE_ID] if "enterprises" in results else None
    done = apply_corrections(
        links=results["enterprise_links"].frame,
        corrections=found,
        enterprise_ids=None if firms is None else pd.Index(firms.to_numpy(dtype=object)),
    )
    summary = done.summary()
    console.print(
        f"link corrections of the service database: {summary['corrections_applied']} in effect "
        f"on {summary['firms_corrected']} firms, {summary['corrections_withdrawn']} withdrawn, "
        f"skipped {summary['corrections_skipped'] or 0} (applied at every load over these links)",
        highlight=False,
    )
    return summary


def _keep_previous_links(out: Path) -> None:
    """The links of the import before this one, for the review queue's ``moved`` firms."""
    import shutil

    from api.serving.links import PREVIOUS_LINKS

    current = out / "enterprise_links.parquet"
    if current.exists():
        shutil.copy2(current, out / PREVIOUS_LINKS)


@import_app.command("chainkg")
def import_chainkg_cmd(
    folder: Annotated[
        Path, typer.Argument(help="ChainKnowledgeGraph folder (company.json, industry.json, ...).")
    ],
    out: Annotated[Path, typer.Option(help="Output universe folder.")],
    corrections_db: CorrectionsDbOption = None,
) -> None:
    """Import the public ChainKnowledgeGraph JSON-lines files into contract tables."""
    from data.chainkg import import_chainkg
    from data.universe import write_universe
    from industry_graph.attach import attach_universe

    started = time.perf_counter()
    try:
        imported = import_chainkg(folder)
    except DataFileError as exc:
        raise fail(str(exc)) from exc
    attachment = attach_universe(imported.results, source=folder)
    corrected = _corrections_report(imported.results, corrections_db)
    _keep_previous_links(out)
    write_universe(
        out,
        imported.results,
        source=f"chainkg:{folder}",
        extra={
            "normalisations": dict(imported.normalisations),
            "attachment": _attachment_report(attachment),
            "link_corrections": corrected,
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
    park: ParkOption = "shibei",
    roster: Annotated[
        Path | None, typer.Option(help="File of enterprise ids or stock codes, one per line.")
    ] = None,
    roster_district: Annotated[
        str | None, typer.Option(help="Roster = firms registered or with an office here.")
    ] = None,
    corrections_db: CorrectionsDbOption = None,
) -> None:
    """Build a universe of real listed firms (financials, taxes, locations, chain links)."""
    from data.ashare import import_ashare
    from data.universe import write_universe
    from industry_graph.attach import attach_universe

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
        raise fail(str(exc)) from exc
    attachment = attach_universe(imported.results, source=reports)
    corrected = _corrections_report(imported.results, corrections_db)
    _keep_previous_links(out)
    write_universe(
        out,
        imported.results,
        source=f"ashare:{reports}",
        extra={
            "park_id": park,
            "roster_district": roster_district,
            "normalisations": dict(imported.normalisations),
            "attachment": _attachment_report(attachment),
            "link_corrections": corrected,
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
