"""The domain functions the routes call: leads, profiles, what-if scoring, chains, outreach.

Routes parse and shape; everything that touches pandas, the graph or the database is here.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.db import IdempotencyKey, OutreachRecord, session_scope, with_retries
from api.schemas import FirmIn, OutreachIn
from api.state import ServiceState
from data import columns as C
from data.reference import default_vocabularies, track_for_chain
from features.build import FeatureContext, firm_features
from industry_graph.attach import attach_links, default_matcher, evidence_text
from industry_graph.gaps import analyse_gaps, gap_values, synergy_paths, track_chains
from models.leads import LeadFilters, LeadTable, chain_reasons
from models.ranking import eligible
from models.scorer import SCORE_FIELDS

EXPORT_MAX_ROWS = 10_000


class NotFound(LookupError):
    """An id that does not exist; the message names it."""


class Conflict(ValueError):
    """An idempotency key reused with a different body."""


class InvalidInput(ValueError):
    """Input that passed the schema but not a rule across fields; ``field: reason``."""


def check_track(state: ServiceState, track: str | None) -> None:
    """A track named in a body must be one of the served park's (``InvalidInput`` otherwise)."""
    assert state.park is not None
    if track is not None and track not in state.park.tracks:
        raise InvalidInput(
            f"track: unknown track {track!r}; this park's tracks: {', '.join(state.park.tracks)}"
        )


def _json_default(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


def _clean(value: object) -> object:
    if (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or value is pd.NA
        or value is pd.NaT
    ):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


# ------------------------------------------------------------------ leads


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
    state: ServiceState, *, track: str, filters: LeadFilters, contacted: Sequence[str]
) -> np.ndarray:
    """Row positions of a track's leads that pass the filters (numpy only, fast)."""
    return state.leads[track].mask(filters, contacted)


def page_of(
    state: ServiceState, *, track: str, positions: np.ndarray, limit: int, offset: int
) -> dict[str, object]:
    """One page of selected leads, with reasons (computed and cached when not yet known)."""
    table = state.leads[track]
    page = positions[offset : offset + limit]
    return {
        "items": lead_items(table, page, first_rank=offset + 1),
        "total": len(positions),
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
) -> dict[str, object]:
    """One page of a track's filtered lead list."""
    positions = select_leads(state, track=track, filters=filters, contacted=contacted)
    return page_of(state, track=track, positions=positions, limit=limit, offset=offset)


EXPORT_COLUMNS = (
    "rank",
    "enterprise_id",
    "name",
    "province",
    "city",
    "industry_code",
    "links",
    *SCORE_FIELDS,
    "reasons_zh",
    "reasons_en",
    "overall_rank",
    "p_land_source",
    "model_version",
    "snapshot_id",
)


def export_rows(
    state: ServiceState, *, track: str, filters: LeadFilters, contacted: Sequence[str]
) -> tuple[list[dict[str, object]], int]:
    """Every lead of the filter (up to ``EXPORT_MAX_ROWS``) flattened for a spreadsheet, and the total."""
    table = state.leads[track]
    positions = table.mask(filters, contacted)
    rows = []
    for item in lead_items(table, positions[:EXPORT_MAX_ROWS], first_rank=1):
        reasons: list[dict[str, str]] = item.pop("reasons")  # type: ignore[assignment]
        flat = {
            **item,
            "links": " ".join(item["links"]),  # type: ignore[arg-type]
            "reasons_zh": "；".join(r["text_zh"] for r in reasons),
            "reasons_en": "; ".join(r["text_en"] for r in reasons),
        }
        rows.append({c: flat.get(c) for c in EXPORT_COLUMNS})
    return rows, len(positions)


# ------------------------------------------------------------------ what-if scoring and profiles


def _with_temp_firms(fc: FeatureContext, links: pd.DataFrame) -> FeatureContext:
    """A feature context that also knows the gap values of firms that are not in the universe."""
    by_track, in_target = dict(fc.by_track), dict(fc.in_target)
    for track in fc.park.tracks:
        ids = [c for c in track_chains(fc.park, track) if c in fc.gaps.chains]
        extra = gap_values(fc.gaps, links, chain_ids=ids).set_index(C.ENTERPRISE_ID)
        by_track[track] = pd.concat([fc.by_track[track], extra])
        chain_of = links[C.LINK_ID].str.split(".").str[0].isin(ids).to_numpy()
        share = (
            pd.Series(links[C.SHARE].to_numpy() * chain_of)
            .groupby(links[C.ENTERPRISE_ID].to_numpy())
            .sum()
        )
        in_target[track] = pd.concat([fc.in_target[track], share])
    n_links = pd.concat([fc.n_links, links.groupby(C.ENTERPRISE_ID).size()])
    return replace(fc, by_track=by_track, in_target=in_target, n_links=n_links)


def _score_frame(
    state: ServiceState,
    firms: pd.DataFrame,
    links: pd.DataFrame,
    tracks: tuple[str, ...],
    fc: FeatureContext,
) -> list[list[dict[str, object]]]:
    assert state.model is not None and state.as_of is not None and state.park is not None
    scorer = state.model.scorer
    history = state.tax_history
    per_firm: list[list[dict[str, object]]] = [[] for _ in range(len(firms))]
    for track in tracks:
        X = firm_features(fc, firms, track=track, as_of=state.as_of, history=history)
        scored = scorer.score(X)
        reasons = scorer.explain(X)
        # the gap it would fill (with the evidence of its link) first, as in the lead lists
        chain = chain_reasons(fc, links, firms[C.ENTERPRISE_ID], track)
        ok = eligible(state.park.tracks[track].eligibility, firms, links)
        table = state.leads.get(track)
        for i in range(len(firms)):
            eid = firms.iloc[i][C.ENTERPRISE_ID]
            rank = table.position_of(eid) if table is not None else None
            per_firm[i].append(
                {
                    "track": track,
                    "eligible": bool(ok[i]),
                    "overall_rank": None if rank is None else rank + 1,
                    **{k: float(scored.iloc[i][k]) for k in SCORE_FIELDS},
                    "reasons": [
                        *chain[i],
                        *(
                            {
                                "kind": r["feature"],
                                "text_zh": r["text_zh"],
                                "text_en": r["text_en"],
                                "effect": r["effect"],
                            }
                            for r in reasons[i]
                        ),
                    ],
                }
            )
    return per_firm


def score_firms(
    state: ServiceState, firms_in: list[FirmIn], track: str | None
) -> list[dict[str, object]]:
    """Score what-if firms given in the contract's form; links come from the request or, like
    every other firm's, from the attacher (business scope, else industry code)."""
    assert state.fc is not None and state.park is not None
    check_track(state, track)
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
                if ln.link_id.split(".")[0] in state.chains
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
    scores = _score_frame(state, firms, links, tracks, fc)
    return [
        {"index": i, "name": f.name, "enterprise_id": f.enterprise_id, "scores": scores[i]}
        for i, f in enumerate(firms_in)
    ]


def _profile_scores(
    state: ServiceState, enterprise_id: str, in_park: bool
) -> list[dict[str, object]]:
    """Every track's standing of one firm. Where it is a candidate: its row of the lead table as
    the list shows it (score, tax range, reasons). Where it is not — a park member, or a firm
    that fails the track's eligibility rules — no score, and the reason it is not a lead
    (``POST /score`` still scores any firm as a what-if)."""
    assert state.park is not None
    out: list[dict[str, object]] = []
    for track in state.park.tracks:
        table = state.leads.get(track)
        pos = table.position_of(enterprise_id) if table is not None else None
        if table is not None and pos is not None:
            lead = table.rows(np.array([pos]))[0]
            out.append(
                {
                    "track": track,
                    "eligible": True,
                    "overall_rank": lead["overall_rank"],
                    **{k: lead[k] for k in SCORE_FIELDS},
                    "reasons": public_reasons(lead["reasons"]),  # type: ignore[arg-type]
                }
            )
            continue
        zh, en = (
            ("已是园区企业，不是招商对象", "already in the park: not a lead")
            if in_park
            else (
                "不满足本赛道的准入条件，不在招商名单中",
                "does not meet this track's eligibility rules: not a lead",
            )
        )
        out.append(
            {
                "track": track,
                "eligible": False,
                "overall_rank": None,
                **dict.fromkeys(SCORE_FIELDS),
                "reasons": [{"kind": "eligibility", "text_zh": zh, "text_en": en, "effect": None}],
            }
        )
    return out


def _link_evidence(state: ServiceState, own_links: pd.DataFrame) -> list[dict[str, object]]:
    """Each link of a firm with how it was found (归入「数据安全」：主营产品：PKI基础设施、…)."""
    out: list[dict[str, object]] = []
    columns = {c: own_links[c].to_numpy() for c in own_links.columns}
    for i in range(len(own_links)):
        link_id = str(columns[C.LINK_ID][i])
        chain = state.chains.get(link_id.split(".", 1)[0])
        link = next((x for x in chain.links if x.id == link_id), None) if chain else None
        kind = columns[C.EVIDENCE_KIND][i] if C.EVIDENCE_KIND in columns else None
        evidence = columns[C.EVIDENCE][i] if C.EVIDENCE in columns else None
        confidence = columns[C.CONFIDENCE][i] if C.CONFIDENCE in columns else None
        kind = kind if isinstance(kind, str) else None
        evidence = evidence if isinstance(evidence, str) else None
        label_zh = link.name_zh if link else link_id
        label_en = link.name_en if link else link_id
        out.append(
            {
                "link_id": link_id,
                "share": float(columns[C.SHARE][i]),
                "evidence_kind": kind,
                "evidence": evidence,
                "confidence": None
                if confidence is None or pd.isna(confidence)
                else float(confidence),
                "text_zh": f"归入「{label_zh}」"
                + (f"：{evidence_text(kind, evidence, lang='zh')}" if kind else ""),
                "text_en": f"in {label_en}"
                + (f": {evidence_text(kind, evidence, lang='en')}" if kind else ""),
            }
        )
    return out


def enterprise_profile(
    state: ServiceState, factory: sessionmaker[Session], enterprise_id: str
) -> dict[str, object]:
    """Profile, scores per track, park neighbours (synergy paths) and outreach history."""
    assert state.fc is not None and state.park is not None
    row_number = state.row_of(enterprise_id)
    if row_number is None:
        raise NotFound(f"enterprise_id: no enterprise {enterprise_id!r}")
    record = state.tables["enterprises"].iloc[row_number]
    own_links = state.links_of(enterprise_id)
    profile = {k: _clean(v) for k, v in record.items() if k in C.ENTERPRISE_COLUMNS}
    in_park = enterprise_id in state.fc.park_members
    scores = _profile_scores(state, enterprise_id, in_park) if state.model is not None else []
    name = str(record[C.NAME])
    paths = synergy_paths(
        state.fc.gaps, own_links, enterprise_id, names={enterprise_id: name}, limit=3
    )
    return {
        "enterprise_id": enterprise_id,
        "name": name,
        "profile": profile,
        "in_park": in_park,
        "links": list(own_links[C.LINK_ID]),
        "link_evidence": _link_evidence(state, own_links),
        "scores": scores,
        "park_neighbours": paths,
        "outreach": outreach_for(state, factory, enterprise_id=enterprise_id, limit=200, offset=0)[
            "items"
        ],
        "model_version": state.model.version if state.model else "",
        "snapshot_id": state.snapshot_id,
    }


# ------------------------------------------------------------------ chains


def chain_summaries(state: ServiceState) -> list[dict[str, object]]:
    """Every chain with its link count and the park's priority for it."""
    assert state.park is not None
    priority = {t.id: t.priority for t in state.park.chains}
    return [
        {
            "id": c.id,
            "name_zh": c.name_zh,
            "name_en": c.name_en,
            "links": len(c.links),
            "priority": priority.get(c.id),
        }
        for c in state.chains.values()
    ]


def _gap_dicts(state: ServiceState, chain_id: str) -> list[dict[str, object]]:
    assert state.fc is not None
    if chain_id not in state.chains:
        raise NotFound(f"chain: no chain {chain_id!r}; known: {', '.join(state.chains)}")
    chain = state.chains[chain_id]
    out = []
    for g in analyse_gaps(state.fc.gaps, chain_id):
        d = g.to_dict()
        d["upstream"] = list(chain.link(g.link_id).upstream)
        out.append(d)
    return out


def chain_map(state: ServiceState, chain_id: str) -> dict[str, object]:
    """A chain's links in chain order with the park's presence and gap per link."""
    assert state.fc is not None and state.park is not None
    gaps = {g["link_id"]: g for g in _gap_dicts(state, chain_id)}
    chain = state.chains[chain_id]
    return {
        "id": chain.id,
        "name_zh": chain.name_zh,
        "name_en": chain.name_en,
        "park": state.park.id,
        "park_firms": state.fc.gaps.roster_size,
        "segments": [s.model_dump() for s in chain.segments],
        "links": [gaps[link.id] for link in chain.links],
    }


def chain_gaps(state: ServiceState, chain_id: str) -> dict[str, object]:
    """A chain's gaps, best gap first."""
    assert state.park is not None
    return {"park": state.park.id, "chain": chain_id, "links": _gap_dicts(state, chain_id)}


def link_candidates(
    state: ServiceState,
    chain_id: str,
    link: str,
    *,
    limit: int,
    offset: int,
    contacted: Sequence[str],
) -> dict[str, object]:
    """Candidates working in one link, in the lead order of the track that ranks its chain
    (``data.reference.track_for_chain``)."""
    assert state.park is not None
    if chain_id not in state.chains:
        raise NotFound(f"chain: no chain {chain_id!r}")
    link_id = link if "." in link else f"{chain_id}.{link}"
    try:
        state.chains[chain_id].link(link_id)
    except KeyError as exc:
        raise NotFound(f"link: chain {chain_id!r} has no link {link!r}") from exc
    page = leads_page(
        state,
        track=track_for_chain(state.park, chain_id),
        filters=LeadFilters(link=link_id),
        limit=limit,
        offset=offset,
        contacted=contacted,
    )
    items = page["items"]
    assert isinstance(items, list)
    with_evidence = []
    for item in items:  # copies: lead rows may be cached and shared with /leads
        own = state.links_of(str(item["enterprise_id"]))
        found = _link_evidence(state, own[own[C.LINK_ID] == link_id])
        with_evidence.append(item | {"link_evidence": found[0] if found else None})
    return page | {"items": with_evidence}


# ------------------------------------------------------------------ outreach


def _body_hash(payload: OutreachIn) -> str:
    return hashlib.sha256(payload.model_dump_json().encode("utf-8")).hexdigest()


def _record_dict(r: OutreachRecord) -> dict[str, object]:
    return {
        "outreach_id": r.outreach_id,
        "enterprise_id": r.enterprise_id,
        "park_id": r.park_id,
        "track": r.track,
        "campaign": r.campaign,
        "contacted_on": r.contacted_on,
        "outcome": r.outcome,
        "closed_on": r.closed_on,
        "officer": r.officer,
        "note": r.note,
        "source": "service",
    }


def create_outreach(
    state: ServiceState,
    factory: sessionmaker[Session],
    *,
    api_key_id: int,
    payload: OutreachIn,
    idempotency_key: str | None,
) -> tuple[int, dict[str, Any]]:
    """Store an outreach record; a repeated idempotency key returns the first response
    (``Conflict`` when the body differs). Returns (status code, body)."""
    if state.row_of(payload.enterprise_id) is None:
        raise NotFound(f"enterprise_id: no enterprise {payload.enterprise_id!r}")
    check_track(state, payload.track)
    if payload.closed_on is not None and payload.closed_on < payload.contacted_on:
        raise InvalidInput("closed_on: must not be before contacted_on")
    body_hash = _body_hash(payload)

    def previous(s: Session) -> tuple[int, dict[str, Any]] | None:
        if idempotency_key is None:
            return None
        found = s.get(IdempotencyKey, (api_key_id, idempotency_key))
        if found is None:
            return None
        if found.body_hash != body_hash:
            raise Conflict("Idempotency-Key: already used with a different body")
        return found.status_code, json.loads(found.response_json)

    def write() -> tuple[int, dict[str, Any]]:
        with session_scope(factory) as s:
            earlier = previous(s)
            if earlier is not None:
                return earlier
            record = OutreachRecord(
                outreach_id="w" + uuid.uuid4().hex[:20],
                enterprise_id=payload.enterprise_id,
                park_id=state.settings.park,
                track=payload.track,
                campaign=payload.campaign,
                contacted_on=payload.contacted_on,
                outcome=payload.outcome,
                closed_on=payload.closed_on,
                officer=payload.officer,
                note=payload.note,
                created_at=datetime.now(UTC),
                api_key_id=api_key_id,
            )
            s.add(record)
            body = _record_dict(record)
            if idempotency_key is not None:
                s.add(
                    IdempotencyKey(
                        api_key_id=api_key_id,
                        key=idempotency_key,
                        body_hash=body_hash,
                        status_code=201,
                        response_json=json.dumps(body, default=_json_default),
                        created_at=datetime.now(UTC),
                    )
                )
            return 201, json.loads(json.dumps(body, default=_json_default))

    try:
        return with_retries(write)
    except IntegrityError:  # a concurrent retry with the same key won the race: answer as it did
        with session_scope(factory) as s:
            earlier = previous(s)
            if earlier is None:
                raise
            return earlier


def outreach_for(
    state: ServiceState,
    factory: sessionmaker[Session],
    *,
    enterprise_id: str | None = None,
    track: str | None = None,
    outcome: str | None = None,
    limit: int,
    offset: int,
) -> dict[str, object]:
    """Outreach of the park: the imported history and the service's records, newest first."""
    hist = state.park_outreach if enterprise_id is None else state.outreach_of(enterprise_id)
    if track is not None and len(hist):
        hist = hist[hist[C.TRACK] == track]
    if outcome is not None and len(hist):
        hist = hist[hist[C.OUTCOME] == outcome]

    def query() -> tuple[list[dict[str, object]], int]:
        with session_scope(factory) as s:
            q = select(OutreachRecord).where(OutreachRecord.park_id == state.settings.park)
            if enterprise_id is not None:
                q = q.where(OutreachRecord.enterprise_id == enterprise_id)
            if track is not None:
                q = q.where(OutreachRecord.track == track)
            if outcome is not None:
                q = q.where(OutreachRecord.outcome == outcome)
            ordered = q.order_by(OutreachRecord.created_at.desc())
            if enterprise_id is not None:  # one firm's records are few: one query, no count
                rows = s.scalars(ordered).all()
                return [_record_dict(r) for r in rows[: offset + limit]], len(rows)
            n = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(ordered.limit(offset + limit)).all()
            return [_record_dict(r) for r in rows], int(n)

    service_rows, service_total = with_retries(query)
    total = service_total + len(hist)
    items = list(service_rows)
    if len(items) < offset + limit and len(hist):
        need = offset + limit - len(items)
        older = hist.head(need)  # already newest first
        items += [
            {**{str(k): _clean(v) for k, v in r.items()}, "source": "history"}
            for r in older.to_dict("records")
        ]
    return {
        "items": items[offset : offset + limit],
        "total": total,
        "limit": limit,
        "offset": offset,
    }
