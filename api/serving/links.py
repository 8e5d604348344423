"""The chain attachment as strategists review it (产业链校核): the corrected links every load
serves, the attacher's own answer beneath them, the review queue and the vocabulary suggestions.

The universe folder keeps the **attacher's** ``enterprise_links`` (what ``attract import``
wrote); the corrections live in the service database (``api.crm.corrections``) and are applied
over them at every load (``api.serving.state.load_state`` reads them and the universe loader
applies them; the snapshot every worker maps is keyed by them), so the
lists, gaps, KPIs and lookalikes all read corrected links, a correction lasts through any
re-import, and an undo (``restore``) brings the attacher's answer back. A correction takes
effect in the served lists at the next load (``POST /api/v1/admin/reload``); the queue, the log
and the suggestions read the database at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sqlalchemy.orm import Session, sessionmaker

from api.crm.corrections import stored
from api.serving.memo import Memo
from data import columns as C
from data.corrections import LinkCorrection, in_effect, park_chain_ids
from data.reference import default_parks, default_vocabularies, load_generic_terms
from industry_graph.attach import evidence_basis
from industry_graph.review import ReviewQueue, review_queue
from industry_graph.vocabulary_learning import Suggestion, suggest_changes, suggestion_table

if TYPE_CHECKING:
    from api.serving.state import ServiceState

# the attacher's links of the import before the current one (``attract import`` keeps them)
PREVIOUS_LINKS = "previous_enterprise_links.parquet"
TOP_LEADS = 500  # a track's top leads carry their lead value into the queue's stake
_queues = Memo(size=4)
_suggestions = Memo(size=4)
_raw = Memo(size=2)


def _folder(state: ServiceState) -> Path:
    return state.settings.universe_dir


def attacher_links(state: ServiceState) -> pd.DataFrame:
    """The attacher's ``enterprise_links`` of the served universe, before any correction (read
    from the folder once per load)."""
    path = _folder(state) / "enterprise_links.parquet"
    return _raw.get(
        ("links", state.loaded_at, str(path)),
        lambda: pd.read_parquet(path).astype({C.ENTERPRISE_ID: object, C.LINK_ID: object}),
    )


def attacher_links_of(state: ServiceState, enterprise_ids: list[str]) -> pd.DataFrame:
    """The attacher's rows of some firms."""
    links = attacher_links(state)
    return links[links[C.ENTERPRISE_ID].isin(enterprise_ids)]


def _basis(state: ServiceState) -> pd.DataFrame:
    path = _folder(state) / "enterprises.parquet"
    names = pq.read_schema(path).names
    wanted = [
        c for c in (C.ENTERPRISE_ID, C.BUSINESS_SCOPE, C.DESCRIPTION, C.INDUSTRY_CODE) if c in names
    ]
    wanted += [c for c in names if c.startswith("industry_scheme") and c not in wanted]
    firms = pd.read_parquet(path, columns=wanted)
    return evidence_basis(
        enterprises=firms,
        chains=state.chains,
        enterprise_products=state.tables.get("enterprise_products"),
    )


def _previous(state: ServiceState) -> pd.DataFrame | None:
    path = _folder(state) / PREVIOUS_LINKS
    if not path.exists():
        return None
    return pd.read_parquet(path).astype({C.ENTERPRISE_ID: object, C.LINK_ID: object})


def lead_values(state: ServiceState, top: int = TOP_LEADS) -> pd.Series:
    """万元 by firm: a lead's value (``value_wan_cny``), the best over the park's tracks, for the
    first ``top`` leads of each track."""
    parts = []
    for table in state.leads.values():
        values = table.column("value_wan_cny")
        if values is None:
            continue
        n = min(top, len(table.ids))
        parts.append(
            pd.Series(np.asarray(values[:n], dtype=np.float64), index=table.ids[:n], name="v")
        )
    if not parts:
        return pd.Series(dtype=np.float64)
    joined = pd.concat(parts)
    return joined.groupby(level=0).max()


def _marker(corrections: list[LinkCorrection]) -> tuple[int, int | None]:
    return len(corrections), corrections[-1].correction_id if corrections else None


def queue(state: ServiceState, sessions: sessionmaker[Session]) -> ReviewQueue:
    """The served park's review queue: the attacher's links over the park's chains, the stored
    corrections (a corrected firm leaves it; they teach ``p_wrong``), lead values and the
    members' gap stakes."""
    assert state.park is not None
    corrections = stored(sessions)

    def build() -> ReviewQueue:
        assert state.park is not None
        ent = state.tables["enterprises"]
        names = dict(
            zip(ent[C.ENTERPRISE_ID].tolist(), ent[C.NAME].astype(str).tolist(), strict=True)
        )
        return review_queue(
            links=attacher_links(state),
            chains=state.chains,
            chain_ids=sorted(park_chain_ids(state.park)),
            corrections=corrections,
            basis=_basis(state),
            previous_links=_previous(state),
            lead_values=lead_values(state),
            park_context=state.fc.gaps if state.fc is not None else None,
            names=names,
        )

    return _queues.get(("queue", state.loaded_at, id(state), _marker(corrections)), build)


def review_page(
    state: ServiceState,
    sessions: sessionmaker[Session],
    *,
    offset: int,
    limit: int,
    enterprise_id: str | None = None,
) -> dict[str, Any]:
    """One page of the queue, each item with its links, reasons and stake; the rates learnt.
    With ``enterprise_id``, only that firm's item (none when it is not in the queue)."""
    found = queue(state, sessions)
    if enterprise_id is not None:
        hits = np.flatnonzero(found.table[C.ENTERPRISE_ID].to_numpy(dtype=object) == enterprise_id)
        items = found.items(offset=int(hits[0]), limit=1) if len(hits) else []
    else:
        items = found.items(offset=offset, limit=limit)
    return {
        "total": len(found.table),
        "offset": offset,
        "limit": limit,
        "items": [item.to_dict() for item in items],
        "rates": {
            s: {"corrected": r.corrected, "changed": r.changed, "p_wrong": r.p_wrong}
            for s, r in found.rates.items()
        },
    }


def _tables_of(state: ServiceState, ids: list[str]) -> dict[str, pd.DataFrame]:
    """The universe's tables the attacher reads, for some firms (their free text read back from
    the folder: the served state dropped it)."""
    path = _folder(state) / "enterprises.parquet"
    firms = pd.read_parquet(path, filters=[(C.ENTERPRISE_ID, "in", ids)]) if ids else None
    if firms is None:
        firms = state.tables["enterprises"].iloc[0:0]
    out: dict[str, pd.DataFrame] = {"enterprises": firms}
    for name in ("products", "enterprise_products", "product_relations"):
        if name in state.tables:
            out[name] = state.tables[name]
    return out


def suggestions(state: ServiceState, sessions: sessionmaker[Session]) -> list[Suggestion]:
    """Vocabulary changes the stored corrections suggest (``suggest_changes``), evaluated on
    the corrected firms of the served universe: each with the firms it changes, the corrections
    it would have got right and those it would undo. Nothing is applied."""
    corrections = stored(sessions)
    timeline, _ = in_effect(corrections)
    ids = sorted({c.enterprise_id for c in timeline if state.row_of(c.enterprise_id) is not None})

    def build() -> list[Suggestion]:
        if not ids:
            return []
        tables = _tables_of(state, ids)
        return suggest_changes(
            tables=tables,
            links=attacher_links_of(state, ids),
            corrections=corrections,
            chains=state.chains,
            vocabularies=default_vocabularies(),
            generic=load_generic_terms(),
            parks=default_parks(),
        )

    return _suggestions.get(("suggest", state.loaded_at, id(state), _marker(corrections)), build)


def suggestions_page(
    state: ServiceState, sessions: sessionmaker[Session], *, lang: str = "zh"
) -> dict[str, Any]:
    """The suggestions as JSON rows (``suggestion_table``) with each change in words."""
    found = suggestions(state, sessions)
    rows = suggestion_table(found).to_dict("records")
    names = state.tables["enterprises"][C.NAME]

    def name(eid: str) -> str:
        row = state.row_of(eid)
        return eid if row is None else str(names.iloc[row])

    return {
        "total": len(found),
        "items": [
            {
                **row,
                "describe": s.change.describe(lang=lang),
                "fixed_firms": [name(e) for e in s.fixes],
                "broken_firms": [name(e) for e in s.breaks],
                "changed_firms": list(s.changed[:20]),
            }
            for row, s in zip(rows, found, strict=True)
        ],
    }
