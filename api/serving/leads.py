"""Lead lists, their export and what-if scoring (``api/routes/leads.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from api.errors import InvalidInput
from api.schemas import FirmIn
from api.serving.lead_table import LeadFilters, LeadTable
from api.serving.state import ServiceState
from data import columns as C
from data.landing import form_index, track_forms
from data.reference import chain_of, chains_of, default_vocabularies, track_error
from features.build import FeatureContext
from industry_graph.attach import attach_links, default_matcher
from industry_graph.gaps import gap_values, track_chains
from models.leads import score_candidates
from models.scorer import SCORE_FIELDS, score_value

EXPORT_MAX_ROWS = 10_000


def public_reasons(reasons: list[dict[str, str]]) -> list[dict[str, str | None]]:
    """Reasons in the API's shape: chain reasons keep their kind, model factors are named by feature."""
    return [
        {
            "kind": r.get("kind", r.get("feature", "factor")),
            "text_zh": r["text_zh"],
            "text_en": r["text_en"],
            "effect": r.get("effect"),
        }
        for r in reasons
    ]


def lead_items(
    table: LeadTable, positions: np.ndarray, *, first_rank: int
) -> list[dict[str, object]]:
    """Lead records with their rank in the filtered list and provenance."""
    items = table.rows(positions)
    for i, item in enumerate(items):
        item["rank"] = first_rank + i
        item["model_version"] = table.model_version
        item["snapshot_id"] = table.snapshot_id
        item["p_land_source"] = table.p_land_source
        item["reasons"] = public_reasons(item["reasons"])  # type: ignore[arg-type]
    return items


def select_leads(
    state: ServiceState,
    *,
    track: str,
    filters: LeadFilters,
    contacted: Sequence[str],
    recent: Sequence[str] = (),
) -> np.ndarray:
    """Row positions of a track's leads that pass the filters (numpy only, fast), best first:
    by the score with the contact plan's prices once the plan is solved for this load
    (``api.serving.plan.order_of``), by the model's score before. Firms the park can no longer
    win are left out unless ``filters.include`` brings their group back, and so are the firms
    put on the pipeline since the load (``recent``)."""
    from api.serving.plan import order_of

    table = state.leads[track]
    offered = state.not_offered.keep(track, table, include=filters.include, recent=recent)
    keep = table.keep(filters, contacted, offered)
    order = order_of(state, track)
    return np.flatnonzero(keep) if order is None else order.ordered(keep)


def select_page(
    state: ServiceState,
    *,
    track: str,
    filters: LeadFilters,
    contacted: Sequence[str],
    recent: Sequence[str] = (),
    stop: int,
) -> tuple[np.ndarray, int]:
    """The first ``stop`` positions of ``select_leads`` and how many it has (a page needs no
    more: in the plan's order only the head of the order is walked)."""
    from api.serving.plan import order_of

    table = state.leads[track]
    offered = state.not_offered.keep(track, table, include=filters.include, recent=recent)
    keep = table.keep(filters, contacted, offered)
    order = order_of(state, track)
    if order is None:
        positions = np.flatnonzero(keep)
        return positions[:stop], len(positions)
    return order.head(keep, stop), int(np.count_nonzero(keep))


def page_of(
    state: ServiceState,
    *,
    track: str,
    positions: np.ndarray,
    limit: int,
    offset: int,
    total: int | None = None,
) -> dict[str, object]:
    """One page of selected leads, with reasons (computed and cached when not yet known);
    ``positions`` holds at least the page's (``select_page``), ``total`` how many match
    (default: all of ``positions``)."""
    from api.serving.plan import add_plan_values

    table = state.leads[track]
    page = positions[offset : offset + limit]
    items = lead_items(table, page, first_rank=offset + 1)
    add_plan_values(state, items, track=track)
    return {
        "items": items,
        "total": len(positions) if total is None else total,
        "limit": limit,
        "offset": offset,
        "model_version": table.model_version,
        "snapshot_id": table.snapshot_id,
    }


def leads_page(
    state: ServiceState,
    *,
    track: str,
    filters: LeadFilters,
    limit: int,
    offset: int,
    contacted: Sequence[str],
    recent: Sequence[str] = (),
) -> dict[str, object]:
    """One page of a track's filtered lead list."""
    positions, total = select_page(
        state,
        track=track,
        filters=filters,
        contacted=contacted,
        recent=recent,
        stop=offset + limit,
    )
    return page_of(state, track=track, positions=positions, limit=limit, offset=offset, total=total)


EXPORT_COLUMNS = (
    "rank",
    "enterprise_id",
    "name",
    "province",
    "city",
    "industry_code",
    "links",
    *SCORE_FIELDS,
    "plan_value_wan_cny",
    "plan_score_wan_cny",
    "landing_form_zh",
    "landing_form_en",
    "reasons_zh",
    "reasons_en",
    "overall_rank",
    "p_land_source",
    "model_version",
    "snapshot_id",
)


def export_rows(
    state: ServiceState,
    *,
    track: str,
    filters: LeadFilters,
    contacted: Sequence[str],
    recent: Sequence[str] = (),
) -> tuple[list[dict[str, object]], int]:
    """Every lead of the filter (up to ``EXPORT_MAX_ROWS``) flattened for a spreadsheet, and the total."""
    table = state.leads[track]
    positions = select_leads(
        state, track=track, filters=filters, contacted=contacted, recent=recent
    )
    from api.serving.plan import add_plan_values

    rows = []
    assert state.park is not None
    forms = track_forms(state.park, track)
    items = lead_items(table, positions[:EXPORT_MAX_ROWS], first_rank=1)
    add_plan_values(state, items, track=track)
    for item in items:
        reasons: list[dict[str, str]] = item.pop("reasons")  # type: ignore[assignment]
        form = forms.get(str(item["landing_form"]))
        flat = {
            **item,
            "landing_form_zh": form.name_zh if form else None,
            "landing_form_en": form.name_en if form else None,
            "links": " ".join(item["links"]),  # type: ignore[arg-type]
            "reasons_zh": "；".join(r["text_zh"] for r in reasons),
            "reasons_en": "; ".join(r["text_en"] for r in reasons),
        }
        rows.append({c: flat.get(c) for c in EXPORT_COLUMNS})
    return rows, len(positions)


def _with_temp_firms(fc: FeatureContext, links: pd.DataFrame) -> FeatureContext:
    """A feature context that also knows the gap values of firms that are not in the universe."""
    by_track, in_target = dict(fc.by_track), dict(fc.in_target)
    for track in fc.park.tracks:
        ids = [c for c in track_chains(fc.park, track) if c in fc.gaps.chains]
        extra = gap_values(fc.gaps, links, chain_ids=ids).set_index(C.ENTERPRISE_ID)
        by_track[track] = pd.concat([fc.by_track[track], extra])
        in_chains = chains_of(links[C.LINK_ID]).isin(ids).to_numpy()
        share = (
            pd.Series(links[C.SHARE].to_numpy() * in_chains)
            .groupby(links[C.ENTERPRISE_ID].to_numpy())
            .sum()
        )
        in_target[track] = pd.concat([fc.in_target[track], share])
    n_links = pd.concat([fc.n_links, links.groupby(C.ENTERPRISE_ID).size()])
    return replace(fc, by_track=by_track, in_target=in_target, n_links=n_links)


def score_frame(
    state: ServiceState,
    firms: pd.DataFrame,
    links: pd.DataFrame,
    tracks: tuple[str, ...],
    fc: FeatureContext,
    landing_form: str | None = None,
) -> list[list[dict[str, object]]]:
    assert state.model is not None and state.as_of is not None and state.park is not None
    scorer = state.model.scorer
    history = state.tax_history
    per_firm: list[list[dict[str, object]]] = [[] for _ in range(len(firms))]
    for track in tracks:
        cands = score_candidates(
            scorer=scorer,
            fc=fc,
            firms=firms,
            links=links,
            track=track,
            as_of=state.as_of,
            history=history,
            leads_only=False,
            ranked=False,
            landing_form=landing_form,
        )
        table = state.leads.get(track)
        # the gap it would fill (with the evidence of its link) first, as in the lead lists
        for i, (chain, factors) in enumerate(cands.reasons()):
            eid = cands.firms[C.ENTERPRISE_ID].iloc[i]
            rank = table.position_of(eid) if table is not None else None
            per_firm[i].append(
                {
                    "track": track,
                    "eligible": bool(cands.is_lead[i]),
                    "overall_rank": None if rank is None else rank + 1,
                    **{k: score_value(k, cands.scores[k].iloc[i]) for k in SCORE_FIELDS},
                    "reasons": [
                        *chain,
                        *(
                            {
                                "kind": r["feature"],
                                "text_zh": r["text_zh"],
                                "text_en": r["text_en"],
                                "effect": r["effect"],
                            }
                            for r in factors
                        ),
                    ],
                }
            )
    return per_firm


def score_firms(
    state: ServiceState,
    firms_in: list[FirmIn],
    track: str | None,
    landing_form: str | None = None,
) -> list[dict[str, object]]:
    """Score what-if firms given in the contract's form; links come from the request or, like
    every other firm's, from the attacher (business scope, else industry code). ``landing_form``
    (with ``track``) values them in that form instead of the one the park's rules assume."""
    assert state.fc is not None and state.park is not None
    unknown_track = None if track is None else track_error(state.park, track)
    if unknown_track is not None:
        raise InvalidInput(unknown_track)
    if landing_form is not None:
        if track is None:
            raise InvalidInput("landing_form: give the track whose form it is")
        try:
            form_index(state.park, track, landing_form)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
    rows, link_rows = [], []
    for i, firm in enumerate(firms_in):
        eid = f"whatif:{i}"
        record = firm.model_dump(exclude={"links", "enterprise_id"})
        record[C.ENTERPRISE_ID] = eid
        for key in (C.FOUNDED_ON, C.LAST_FUNDING_ON):
            record[key] = pd.Timestamp(record[key]) if record[key] is not None else pd.NaT
        rows.append(record)
        if firm.links:
            link_rows += [
                {C.ENTERPRISE_ID: eid, C.LINK_ID: ln.link_id, C.SHARE: ln.share}
                for ln in firm.links
                if chain_of(ln.link_id) in state.chains
            ]
    firms = pd.DataFrame(rows)
    for col in (*C.ENTERPRISE_COLUMNS, C.BUSINESS_SCOPE):
        if col not in firms:
            firms[col] = None
    given = pd.DataFrame(link_rows, columns=[C.ENTERPRISE_ID, C.LINK_ID, C.SHARE])
    unlinked = firms[~firms[C.ENTERPRISE_ID].isin(set(given[C.ENTERPRISE_ID]))]
    found = attach_links(
        enterprises=unlinked,
        chains=state.chains,
        vocabularies=default_vocabularies(),
        matcher=default_matcher(),
    ).links
    links = pd.concat([given, found], ignore_index=True) if len(found) else given
    fc = _with_temp_firms(state.fc, links)
    tracks = (track,) if track else tuple(state.park.tracks)
    scores = score_frame(state, firms, links, tracks, fc, landing_form)
    return [
        {"index": i, "name": f.name, "enterprise_id": f.enterprise_id, "scores": scores[i]}
        for i, f in enumerate(firms_in)
    ]


def export_about(
    state: ServiceState, track: str, filters: LeadFilters, total: int
) -> dict[str, object]:
    """What a lead export holds, for the sheet that says so: track, filters, model, snapshot."""
    table = state.leads[track]
    shown = {k: v for k, v in vars(filters).items() if v not in (None, False, "", ())}
    return {
        "track": track,
        "filters": ", ".join(
            f"{k}={'+'.join(v) if isinstance(v, tuple) else v}" for k, v in shown.items()
        )
        or "—",
        "matching leads": total,
        "model_version": table.model_version,
        "p_land_source": table.p_land_source,
        "snapshot_id": table.snapshot_id,
    }
