"""``attract graph``, ``attract gaps``, ``attract chains``: the industry-chain knowledge graph and a park's gaps."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from api.cli import MaybeParkOption, ParkOption, app, console, data_folder, fail
from data.loaders import DataFileError
from data.reference import ReferenceDataError, default_chains, default_parks

graph_app = typer.Typer(help="The industry-chain knowledge graph.", no_args_is_help=True)
app.add_typer(graph_app, name="graph")


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
        tables = load_universe(data_folder(data))
    except DataFileError as exc:
        raise fail(str(exc)) from exc
    graph = build_graph(
        chains=default_chains(),
        tables=tables,
        parks=default_parks(),
        include_enterprises=enterprises,
    )
    stats = graph_stats(graph)
    table = Table(
        title=f"knowledge graph of {data_folder(data)} ({time.perf_counter() - started:.1f} s)"
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
    park: ParkOption = "shibei",
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
        raise fail(f"--format: must be table or json (got {format!r})")
    parks = default_parks()
    all_chains = dict(default_chains())
    derived = chain.startswith(DERIVED_PREFIX)
    if not derived and chain not in all_chains:
        raise fail(
            f"--chain: unknown chain {chain!r}; choose one of {', '.join(all_chains)} or sw:<Shenwan code>"
        )
    needed = ["enterprises", "enterprise_links", "park_roster"] + (
        ["industries", "industry_relations"] if derived else []
    )
    try:
        tables = load_universe(data_folder(data), needed)
    except DataFileError as exc:
        raise fail(str(exc)) from exc
    if derived:
        try:
            made = derive_chain(
                industries=tables["industries"],
                industry_relations=tables["industry_relations"],
                root_code=chain.removeprefix(DERIVED_PREFIX),
            )
        except (KeyError, ValueError) as exc:
            raise fail(f"--chain: {exc}") from exc
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
            raise fail(f"--roster-district: no firm of the universe is in {roster_district!r}")
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


@app.command()
def chains(
    park: MaybeParkOption = None,
) -> None:
    """List the curated chains and their links."""
    try:
        all_chains = default_chains()
        parks = default_parks()
    except ReferenceDataError as exc:
        raise fail(str(exc)) from exc
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


@app.command()
def similar(
    ids: Annotated[
        list[str],
        typer.Argument(help="Enterprise ids or 6-digit stock codes; several = a set (its centre)."),
    ],
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    park: ParkOption = "shibei",
    top: Annotated[int, typer.Option(min=1, max=100, help="How many lookalikes.")] = 10,
    include_members: Annotated[
        bool, typer.Option(help="Also list the park's own firms (left out by default).")
    ] = False,
    format: Annotated[str, typer.Option(help="table, json or csv.")] = "table",
) -> None:
    """Firms like one firm, or like a set, in what they make and do (never where), with why."""
    from data import columns as C
    from data.universe import load_universe
    from features.similarity import MAX_SET, Lookalikes

    if format not in {"table", "json", "csv"}:
        raise fail(f"--format: must be table, json or csv (got {format!r})")
    if len(ids) > MAX_SET:
        raise fail(f"ids: {len(ids)} ids, at most {MAX_SET} in one query")
    try:
        tables = load_universe(data_folder(data))
    except DataFileError as exc:
        raise fail(str(exc)) from exc
    firms = tables["enterprises"]
    known = set(firms[C.ENTERPRISE_ID])
    wanted = [f"stock:{i}" if i.isdigit() and len(i) == 6 else i for i in ids]
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise fail(f"ids: no enterprise {unknown[0]!r} in the universe")
    roster = tables["park_roster"]
    members = roster.loc[roster[C.PARK_ID] == park, C.ENTERPRISE_ID]
    lookalikes = Lookalikes.of(tables, chains=default_chains(), members=members)
    found = lookalikes.similar(wanted, k=top, include_members=include_members)
    by_id = firms.set_index(C.ENTERPRISE_ID)
    rows = [
        {
            "rank": rank,
            "enterprise_id": hit.enterprise_id,
            "name": str(by_id.at[hit.enterprise_id, C.NAME]),
            "city": by_id.at[hit.enterprise_id, C.CITY],
            "industry_code": by_id.at[hit.enterprise_id, C.INDUSTRY_CODE],
            "similarity": hit.similarity,
            "like": str(by_id.at[hit.like, C.NAME]),
            "reasons": "；".join(r["text_zh"] for r in hit.reasons),
        }
        for rank, hit in enumerate(found, start=1)
    ]
    frame = pd.DataFrame(rows).astype(object).where(lambda f: f.notna(), None)
    if format == "json":
        typer.echo(json.dumps(frame.to_dict("records"), ensure_ascii=False, indent=2))
        return
    if format == "csv":
        typer.echo(frame.to_csv(index=False), nl=False)
        return
    names = "、".join(str(by_id.at[i, C.NAME]) for i in wanted[:3]) + (
        f" 等 {len(wanted)} 家" if len(wanted) > 3 else ""
    )
    table = Table(title=f"相似企业 · like {names}")
    for col in (
        "#",
        "firm",
        "city",
        "industry",
        "similarity",
        *(["like"] if len(wanted) > 1 else []),
        "why",
    ):
        table.add_column(col, justify="right" if col in {"#", "similarity"} else "left")
    for r in rows:
        table.add_row(
            str(r["rank"]),
            str(r["name"]),
            str(r["city"] or ""),
            str(r["industry_code"] or ""),
            f"{float(r['similarity']):.3f}",  # type: ignore[arg-type]
            *([str(r["like"])] if len(wanted) > 1 else []),
            str(r["reasons"]),
        )
    console.print(table)
