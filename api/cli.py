"""The ``attract`` command line."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from data.loaders import DataFileError, LoadResult, load_table, write_rejects
from data.reference import ReferenceDataError, default_chains, default_parks
from data.schemas import TABLES
from data.settings import get_settings

app = typer.Typer(
    help="Shibei Attract: investment-attraction leads, chain gaps and models.", no_args_is_help=True
)
import_app = typer.Typer(help="Import outside data into contract tables.", no_args_is_help=True)
app.add_typer(import_app, name="import")
console = Console(soft_wrap=True)
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
    from data.demo.generator import generate, write
    from data.demo.summary import candidate_aggregates, park_aggregates

    settings = get_settings()
    seed = settings.seed if seed is None else seed
    out = out or settings.demo_dir
    if candidates < 1_000:
        raise _fail(f"--candidates: must be at least 1,000 (got {candidates})")
    started = time.perf_counter()
    with tqdm(total=6, desc="demo universe", unit="stage") as bar:
        started_stages = 0

        def stage(message: str) -> None:  # called as each stage starts; the previous one is done
            nonlocal started_stages
            if started_stages:
                bar.update(1)
            started_stages += 1
            bar.set_postfix_str(message)

        universe = generate(candidates=candidates, seed=seed, progress=stage)
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
    """Import an enterprise registry export (contract or common Chinese headers)."""
    from data.importers import import_enterprises

    try:
        result = import_enterprises(file)
    except DataFileError as exc:
        raise _fail(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    written = out / "enterprises.parquet"
    result.frame.to_parquet(written, index=False)
    rejects = write_rejects(result, out)
    (out / "rejects" / "enterprises.report.json").write_text(
        json.dumps(result.summary(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    _print_load(result, written, rejects)


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
    written = out / f"{table}.parquet"
    result.frame.to_parquet(written, index=False)
    _print_load(result, written, write_rejects(result, out))


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
