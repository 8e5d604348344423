"""``attract links …``: the chain attachment's review queue and corrections (产业链校核), the
same as ``/api/v1/links`` and the page: ``review``, ``confirm``, ``set``, ``remove``,
``outside``, ``restore`` (undo), ``list``, ``export``, ``import`` (a CSV, all or nothing),
``suggest`` (vocabulary changes) and ``study`` (the measurement of issue 27 on the labelled real
sample). Corrections are written to the service database the settings name
(``ATTRACT_DATABASE_URL``, else ``<ATTRACT_HOME>/service.db``) as the user ``--by`` (an analyst,
lead or admin) and take effect at the service's next load, ``attract train`` and every
``attract import`` after."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from api.cli import ParkOption, app, console, fail
from data import columns as C
from data.loaders import DataFileError
from data.reference import Park, default_parks
from data.settings import get_settings

links_app = typer.Typer(
    help="Review and correct the chain attachment (产业链校核).", no_args_is_help=True
)
app.add_typer(links_app, name="links")

ByOption = Annotated[
    str, typer.Option("--by", help="Your username (an analyst, lead or admin): who corrects.")
]
NoteOption = Annotated[str, typer.Option(help="Why (kept with the correction).")]
DataOption = Annotated[
    Path | None, typer.Option(help="Universe folder (default: the one the service serves).")
]
LABELS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "link_labels.csv"


@dataclass(frozen=True)
class _Universe:
    """The served-universe side a correction is checked against (``api.crm.corrections.Served``),
    without loading the model: the park and the firms' ids, names and attacher links."""

    park: Park
    folder: Path
    index: pd.Index
    names: pd.Series

    @property
    def park_id(self) -> str:
        return self.park.id

    def row_of(self, enterprise_id: str) -> int | None:
        found = int(self.index.get_indexer(pd.Index([enterprise_id]))[0])
        return None if found < 0 else found

    def firm_name(self, enterprise_id: str, track: str) -> str:
        row = self.row_of(enterprise_id)
        return enterprise_id if row is None else str(self.names.iloc[row])

    def attacher_links(self, ids: list[str]) -> pd.DataFrame:
        return pd.read_parquet(
            self.folder / "enterprise_links.parquet", filters=[(C.ENTERPRISE_ID, "in", ids)]
        )


def _universe(park: str, data: Path | None) -> _Universe:
    folder = data if data is not None else get_settings().universe_dir
    path = folder / "enterprises.parquet"
    if not path.exists():
        raise fail(f"--data: {folder} has no universe (enterprises.parquet)")
    firms = pd.read_parquet(path, columns=[C.ENTERPRISE_ID, C.NAME])
    return _Universe(
        park=default_parks()[park],
        folder=folder,
        index=pd.Index(firms[C.ENTERPRISE_ID].to_numpy(dtype=object)),
        names=firms[C.NAME],
    )


def _correct(
    *,
    park: str,
    data: Path | None,
    by: str,
    enterprise_id: str,
    action: str,
    link_id: str | None = None,
    to_link_id: str | None = None,
    links: list[str] | None = None,
    note: str = "",
) -> None:
    from api.cli.service import _sessions
    from api.crm import corrections as store
    from api.errors import InvalidInput, NotFound

    universe = _universe(park, data)
    sessions = _sessions()
    try:
        caller = store.caller_named(sessions, by)
        made = store.build(
            universe,
            caller,
            enterprise_id=enterprise_id,
            action=action,
            link_id=link_id,
            to_link_id=to_link_id,
            links=links,
            note=note,
        )
        rows = store.record(
            sessions,
            caller,
            made,
            attacher_links=universe.attacher_links([enterprise_id]),
            source="cli",
        )
    except (InvalidInput, NotFound, LookupError, ValueError) as exc:
        raise fail(str(exc)) from exc
    name = universe.firm_name(enterprise_id, "")
    for row in rows:
        console.print(
            f"#{row['id']} {row['action']} {name} ({enterprise_id}): "
            f"{row['from_links']} → {row['to_links']}",
            highlight=False,
        )
    console.print(
        "takes effect at the service's next load (attract serve, POST /api/v1/admin/reload), "
        "in attract train and after every import",
        highlight=False,
    )


@links_app.command("confirm")
def confirm_cmd(
    enterprise_id: Annotated[str, typer.Argument(help="The firm's id.")],
    link: Annotated[str, typer.Argument(help="The link it works in (chain.link).")],
    by: ByOption,
    note: NoteOption = "",
    park: ParkOption = "shibei",
    data: DataOption = None,
) -> None:
    """The firm works in LINK (kept at its share, or added as its main business)."""
    _correct(
        park=park,
        data=data,
        by=by,
        enterprise_id=enterprise_id,
        action="confirm",
        link_id=link,
        note=note,
    )


@links_app.command("set")
def set_cmd(
    enterprise_id: Annotated[str, typer.Argument(help="The firm's id.")],
    links: Annotated[list[str], typer.Argument(help="The link(s) it works in (chain.link).")],
    by: ByOption,
    from_link: Annotated[
        str | None,
        typer.Option("--from", help="Move from this link to the one link given (keeps its share)."),
    ] = None,
    note: NoteOption = "",
    park: ParkOption = "shibei",
    data: DataOption = None,
) -> None:
    """Move the firm to LINK(s): with --from, from that link to one link (its share moves);
    without, its links in the park's chains become exactly LINKS."""
    if from_link is not None:
        if len(links) != 1:
            raise fail("--from: a move goes to one link; without --from, set takes several")
        _correct(
            park=park,
            data=data,
            by=by,
            enterprise_id=enterprise_id,
            action="move",
            link_id=from_link,
            to_link_id=links[0],
            note=note,
        )
        return
    _correct(
        park=park,
        data=data,
        by=by,
        enterprise_id=enterprise_id,
        action="set",
        links=links,
        note=note,
    )


@links_app.command("remove")
def remove_cmd(
    enterprise_id: Annotated[str, typer.Argument(help="The firm's id.")],
    link: Annotated[str, typer.Argument(help="The wrong link (chain.link).")],
    by: ByOption,
    note: NoteOption = "",
    park: ParkOption = "shibei",
    data: DataOption = None,
) -> None:
    """LINK is wrong: the firm's other links share its weight."""
    _correct(
        park=park,
        data=data,
        by=by,
        enterprise_id=enterprise_id,
        action="remove",
        link_id=link,
        note=note,
    )


@links_app.command("outside")
def outside_cmd(
    enterprise_id: Annotated[str, typer.Argument(help="The firm's id.")],
    by: ByOption,
    note: NoteOption = "",
    park: ParkOption = "shibei",
    data: DataOption = None,
) -> None:
    """The firm works in none of the park's chains."""
    _correct(park=park, data=data, by=by, enterprise_id=enterprise_id, action="outside", note=note)


@links_app.command("restore")
def restore_cmd(
    enterprise_id: Annotated[str, typer.Argument(help="The firm's id.")],
    by: ByOption,
    link: Annotated[
        str | None, typer.Argument(help="Undo only the corrections naming this link.")
    ] = None,
    note: NoteOption = "",
    park: ParkOption = "shibei",
    data: DataOption = None,
) -> None:
    """Undo: withdraw the firm's corrections (about LINK, or all), bringing the attacher's
    answer back. The undo is itself a correction in the log."""
    _correct(
        park=park,
        data=data,
        by=by,
        enterprise_id=enterprise_id,
        action="restore",
        link_id=link,
        note=note,
    )


@links_app.command("list")
def list_cmd(
    park: ParkOption = "shibei",
    firm: Annotated[str | None, typer.Option(help="Only this firm's corrections.")] = None,
    top: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """The park's corrections, newest first, with the links before → after (the audit)."""
    from api.cli.service import _sessions
    from api.crm.corrections import list_corrections

    found = list_corrections(_sessions(), park_id=park, enterprise_id=firm, limit=top)
    if format == "json":
        typer.echo(json.dumps(found, ensure_ascii=False, default=str, indent=2))
        return
    table = Table(title=f"{park}: {found['total']} link corrections")
    for col in ("id", "when", "by", "firm", "action", "links", "before → after", "note"):
        table.add_column(col)
    for r in found["items"]:
        table.add_row(
            str(r["id"]),
            r["corrected_at"].strftime("%Y-%m-%d %H:%M"),
            r["corrected_by"],
            r[C.ENTERPRISE_ID],
            r["action"],
            " → ".join(x for x in (r[C.LINK_ID], r[C.TO_LINK_ID]) if x),
            f"{r['from_links']} → {r['to_links']}",
            r["note"],
        )
    console.print(table)


@links_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Argument(help="CSV file to write.")],
    park: ParkOption = "shibei",
) -> None:
    """Every correction of the park as a CSV (``attract links import`` reads it back)."""
    from api.cli.service import _sessions
    from api.crm.corrections import stored
    from data.corrections import write_corrections_csv

    mine = [c for c in stored(_sessions()) if c.park_id == park]
    write_corrections_csv(mine, out)
    console.print(f"{len(mine)} corrections → {out}", highlight=False)


@links_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV of corrections (the export's columns).")],
    by: ByOption,
    park: ParkOption = "shibei",
    data: DataOption = None,
) -> None:
    """Store a CSV of corrections: all of them when every row is valid, else none, each bad
    row named with its line, column and reason."""
    from api.cli.service import _sessions
    from api.crm import corrections as store
    from data.corrections import read_corrections_csv

    universe = _universe(park, data)
    sessions = _sessions()
    try:
        caller = store.caller_named(sessions, by)
        found = read_corrections_csv(
            file, park_id=park, corrected_by=caller.username, enterprise_ids=universe.index
        )
    except (DataFileError, LookupError, ValueError) as exc:
        raise fail(str(exc)) from exc
    if not found.accepted:
        for r in found.rejects.to_dict("records"):
            console.print(
                f"  row {r['row']} {r['column']}: {r['reason']} (value {r['value']!r})",
                highlight=False,
            )
        raise fail(
            f"{file}: {found.rows_rejected} of {found.rows} rows refused; nothing was stored"
        )
    other = [c for c in found.corrections if c.park_id != park]
    if other:
        raise fail(f"park_id: {file} corrects park {other[0].park_id}, not --park {park}")
    ids = sorted({c.enterprise_id for c in found.corrections})
    rows = store.record(
        sessions,
        caller,
        list(found.corrections),
        attacher_links=universe.attacher_links(ids),
        source="csv",
    )
    console.print(f"{len(rows)} corrections stored from {file}", highlight=False)


@links_app.command("review")
def review_cmd(
    park: ParkOption = "shibei",
    top: Annotated[int, typer.Option(help="How many items.")] = 20,
    offset: Annotated[int, typer.Option(help="Skip the first items.")] = 0,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """The review queue: firms whose attachment is uncertain, the most valuable corrections
    first, with why and what is at stake (loads the universe and the champion)."""
    from api.cli.plan import _loaded
    from api.cli.service import _sessions
    from api.serving.links import review_page

    state = _loaded(park)
    page = review_page(state, _sessions(), offset=offset, limit=top)
    if format == "json":
        typer.echo(json.dumps(page, ensure_ascii=False, default=str, indent=2))
        return
    table = Table(title=f"{park}: review queue, {page['total']:,} firms")
    for col in ("#", "firm", "links now", "why", "stake 万元", "priority"):
        table.add_column(col, justify="right" if col in ("#", "stake 万元", "priority") else "left")
    for item in page["items"]:
        links = "; ".join(f"{x['link_id']} {x['share']:.0%}" for x in item["links"]) or "—"
        table.add_row(
            str(item["rank"]),
            f"{item['name']} ({item['enterprise_id']})",
            links,
            item["reasons_zh"][0],
            f"{item['stake_wan_cny']:,.0f}",
            f"{item['priority_wan_cny']:,.1f}",
        )
    console.print(table)


@links_app.command("suggest")
def suggest_cmd(
    park: ParkOption = "shibei",
    format: Annotated[str, typer.Option("--format", help="table, json or patch.")] = "table",
) -> None:
    """Vocabulary changes the corrections suggest, with the firms each changes and the
    corrections it would have got right; nothing is applied (``patch`` prints a YAML patch to
    accept by hand into data/vocabulary/)."""
    from api.cli.plan import _loaded
    from api.cli.service import _sessions
    from api.serving.links import suggestions, suggestions_page
    from industry_graph.vocabulary_learning import vocabulary_patch

    state = _loaded(park)
    if format == "patch":
        typer.echo(vocabulary_patch(suggestions(state, _sessions())), nl=False)
        return
    page = suggestions_page(state, _sessions())
    if format == "json":
        typer.echo(json.dumps(page, ensure_ascii=False, default=str, indent=2))
        return
    table = Table(title=f"{park}: {page['total']} vocabulary suggestions")
    for col in ("change", "file", "firms changed", "fixes", "breaks", "fixed"):
        table.add_column(col)
    for s in page["items"]:
        table.add_row(
            s["describe"],
            s["file"],
            str(s["firms_changed"]),
            str(s["fixes"]),
            str(s["breaks"]),
            "、".join(s["fixed_firms"][:5]),
        )
    console.print(table)


@links_app.command("study")
def study_cmd(
    labels: Annotated[Path, typer.Option(help="Labelled sample (CSV).")] = LABELS,
    shared: Annotated[
        Path | None, typer.Option(help="The real public data (default: the settings').")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Issue 27's measurement: the labels' tuning firms as a curator's corrections, the
    vocabulary changes they suggest (accepted when they change ≥ 2 tuning firms and undo none),
    the holdout before → after, and the review-queue items a curator confirms before the
    holdout reaches 0.80 right-link share / 0.85 top-link accuracy (a few minutes)."""
    import time

    from industry_graph.attach import read_link_labels, sample_tables
    from industry_graph.link_study import GOAL_RIGHT_SHARE, GOAL_TOP_ACCURACY, run_link_study

    folder = shared if shared is not None else get_settings().shared_data
    if not (folder / "chainkg").is_dir():
        raise fail(f"--shared: no ChainKG import at {folder} (set ATTRACT_SHARED_DATA)")
    try:
        sample = read_link_labels(labels)
    except (OSError, ValueError) as exc:
        raise fail(f"--labels: {exc}") from exc
    started = time.perf_counter()
    with console.status("importing the real sample and re-attaching (a few minutes)"):
        study = run_link_study(
            tables=sample_tables(folder, only=sample[C.ENTERPRISE_ID]), labels=sample
        )
    seconds = time.perf_counter() - started
    summary = study.summary() | {"seconds": round(seconds, 1)}
    if format == "json":
        typer.echo(json.dumps(summary, ensure_ascii=False, default=str, indent=2))
        return
    table = Table(title=f"link study: {study.tuning_firms} tuning, {study.holdout_firms} holdout")
    for col in ("figure", "right-link share", "top-link accuracy"):
        table.add_column(col, justify="left" if col == "figure" else "right")
    for label, pair in (
        ("tuning before", study.tuning_before),
        ("tuning after", study.tuning_after),
        ("holdout before", study.holdout_before),
        ("holdout after", study.holdout_after),
    ):
        table.add_row(label, f"{pair[0]:.3f}", f"{pair[1]:.3f}")
    console.print(table)
    console.print(
        f"curator corrections {study.corrections}; suggestions {study.suggested}, accepted "
        f"{len(study.accepted)}; holdout firms changed {len(study.holdout_changed)}",
        highlight=False,
    )
    for s in study.accepted:
        console.print(
            f"  accepted: {s.change.describe(lang='en')} (changes {len(s.changed)}, "
            f"fixes {len(s.fixes)})",
            highlight=False,
        )
    q = study.queue
    console.print(
        f"review queue of {len(q.order)} holdout firms: {q.to_right_goal} items to right-link "
        f"share {GOAL_RIGHT_SHARE:.2f}, {q.to_top_goal} to top-link accuracy "
        f"{GOAL_TOP_ACCURACY:.2f}, {q.to_both} to both (random order {study.random_to_both}, "
        f"oracle {study.oracle.to_both}) · {seconds:.0f} s",
        highlight=False,
    )
