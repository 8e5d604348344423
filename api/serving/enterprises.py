"""An enterprise's profile: its standing in every track, links, neighbours and outreach
(``api/routes/enterprises.py``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from api.errors import InvalidInput, NotFound
from api.jsonable import clean
from api.serving.buildings import lead_space_card
from api.serving.leads import public_reasons, score_frame
from api.serving.offered import REASON_LABELS
from api.serving.outreach import outreach_for
from api.serving.state import ServiceState
from data import columns as C
from data.landing import form_index
from data.reference import chain_of, track_error
from industry_graph.attach import evidence_text
from industry_graph.gaps import synergy_paths
from models.scorer import SCORE_FIELDS


def _in_form(
    state: ServiceState, enterprise_id: str, row: int, track: str, form: str
) -> dict[str, object]:
    """One firm's scores on ``track`` valued in landing form ``form`` (an officer's choice)."""
    assert state.fc is not None
    firms = state.tables["enterprises"].iloc[[row]].reset_index(drop=True)
    links = state.links_of(enterprise_id)
    return score_frame(state, firms, links, (track,), state.fc, form)[0][0]


def _profile_scores(
    state: ServiceState,
    enterprise_id: str,
    in_park: bool,
    landing_form: tuple[str, str] | None = None,
) -> list[dict[str, object]]:
    """Every track's standing of one firm. Where it is a candidate: its row of the lead table as
    the list shows it (score, tax range, reasons) — or, for the track of ``landing_form``
    (track, form), its scores valued in that form. Where it is not — a park member, or a firm
    that fails the track's eligibility rules — no score, and the reason it is not a lead
    (``POST /score`` still scores any firm as a what-if)."""
    assert state.park is not None
    out: list[dict[str, object]] = []
    row = state.row_of(enterprise_id)
    for track in state.park.tracks:
        table = state.leads.get(track)
        pos = table.position_of(enterprise_id) if table is not None else None
        if table is not None and pos is not None:
            lead = table.rows(np.array([pos]))[0]
            why = state.not_offered.why(enterprise_id, track)
            held_back = [] if why is None else [_not_offered_reason(*why)]
            reasons = public_reasons(lead["reasons"])  # type: ignore[arg-type]
            scores = {k: lead[k] for k in SCORE_FIELDS}
            if landing_form is not None and landing_form[0] == track and row is not None:
                chosen = _in_form(state, enterprise_id, row, track, landing_form[1])
                scores = {k: chosen[k] for k in SCORE_FIELDS}
                reasons = chosen["reasons"]  # type: ignore[assignment]
            out.append(
                {
                    "track": track,
                    "eligible": True,
                    "overall_rank": lead["overall_rank"],
                    **scores,
                    "not_offered": None if why is None else why[0],
                    "reasons": held_back + reasons,
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
                "not_offered": None,
                "reasons": [{"kind": "eligibility", "text_zh": zh, "text_en": en, "effect": None}],
            }
        )
    return out


def _not_offered_reason(reason: str, since: date | None) -> dict[str, str | None]:
    """Why the lists leave a candidate out: won, worked or declined lately (``serving.offered``)."""
    zh, en = REASON_LABELS[reason]
    day = f"（{since.isoformat()} 起）" if since else ""
    day_en = f" (since {since.isoformat()})" if since else ""
    return {
        "kind": "not_offered",
        "text_zh": f"不在招商名单中：{zh}{day}",
        "text_en": f"not offered in the lead list: {en}{day_en}",
        "effect": None,
    }


def link_evidence(state: ServiceState, own_links: pd.DataFrame) -> list[dict[str, object]]:
    """Each link of a firm with how it was found (归入「数据安全」：主营产品：PKI基础设施、…)."""
    out: list[dict[str, object]] = []
    columns = {c: own_links[c].to_numpy() for c in own_links.columns}
    for i in range(len(own_links)):
        link_id = str(columns[C.LINK_ID][i])
        chain = state.chains.get(chain_of(link_id))
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
    state: ServiceState,
    factory: sessionmaker[Session],
    enterprise_id: str,
    landing_form: tuple[str, str] | None = None,
) -> dict[str, object]:
    """Profile, scores per track, park neighbours (synergy paths) and outreach history;
    ``landing_form`` (track, form) values the firm on that track in that form (422 for a track
    or form the park does not have)."""
    assert state.fc is not None and state.park is not None
    row_number = state.row_of(enterprise_id)
    if row_number is None:
        raise NotFound(f"enterprise_id: no enterprise {enterprise_id!r}")
    if landing_form is not None:
        track, form = landing_form
        unknown = track_error(state.park, track)
        if unknown is not None:
            raise InvalidInput(unknown)
        try:
            form_index(state.park, track, form)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
    record = state.tables["enterprises"].iloc[row_number]
    own_links = state.links_of(enterprise_id)
    profile = {k: clean(v) for k, v in record.items() if k in C.ENTERPRISE_COLUMNS}
    in_park = enterprise_id in state.fc.park_members
    scores = (
        _profile_scores(state, enterprise_id, in_park, landing_form)
        if state.model is not None
        else []
    )
    if any(s["eligible"] for s in scores):
        from api.serving.plan import add_plan_values

        for s in scores:
            if s["eligible"]:
                plan: dict[str, Any] = {
                    **{k: s.get(k) for k in ("p_land", "value_wan_cny", "chain_value_wan_cny")},
                    C.ENTERPRISE_ID: enterprise_id,
                    "reasons": [],
                }
                add_plan_values(state, [plan], track=str(s["track"]))
                s["plan_value_wan_cny"] = plan["plan_value_wan_cny"]
                s["plan_score_wan_cny"] = plan["plan_score_wan_cny"]
                if "overall_rank" in plan:  # its place in the list ranked with the plan
                    s["overall_rank"] = plan["overall_rank"]
                s["reasons"] = [*plan["reasons"], *s["reasons"]]  # type: ignore[misc]
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
        "link_evidence": link_evidence(state, own_links),
        "scores": scores,
        "park_neighbours": paths,
        "outreach": outreach_for(state, factory, enterprise_id=enterprise_id, limit=200, offset=0)[
            "items"
        ],
        "model_version": state.model.version if state.model else "",
        "snapshot_id": state.snapshot_id,
        "space": lead_space_card(state, factory, enterprise_id) if scores else None,
    }
