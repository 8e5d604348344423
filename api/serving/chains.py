"""Chains, their gaps and the firms that would fill a link (``api/routes/chains.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from api.errors import NotFound
from api.serving.enterprises import link_evidence
from api.serving.lead_table import LeadFilters
from api.serving.leads import leads_page
from api.serving.state import ServiceState
from data import columns as C
from data.reference import track_for_chain
from industry_graph.gaps import analyse_gaps


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
    rows = state.links_of_many([str(item["enterprise_id"]) for item in items])
    rows = rows[rows[C.LINK_ID] == link_id]
    evidence: dict[str, dict[str, object]] = {}
    for eid, found in zip(
        rows[C.ENTERPRISE_ID].to_numpy(), link_evidence(state, rows), strict=True
    ):
        evidence.setdefault(str(eid), found)
    # copies: lead rows may be cached and shared with /leads
    with_evidence = [
        item | {"link_evidence": evidence.get(str(item["enterprise_id"]))} for item in items
    ]
    return page | {"items": with_evidence}
