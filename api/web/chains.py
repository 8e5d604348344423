"""The strategist's chain maps: one chain drawn as an SVG of its links, coloured by gap type,
and the candidates that would fill a link."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import StateDep
from api.serving.chains import chain_map, link_candidates
from api.web.common import GraphPage

router = APIRouter(include_in_schema=False)


def _layout(links: list[dict[str, Any]], segments: list[dict[str, Any]]) -> dict[str, Any]:
    """Positions of link boxes: a column per depth along the upstream relations (sources on the
    left), links stacked in chain order; edges from upstream to downstream within the chain."""
    ids = {link["link_id"] for link in links}
    depth: dict[str, int] = {}

    def depth_of(link_id: str, seen: frozenset[str] = frozenset()) -> int:
        if link_id not in depth:
            ups = [u for u in by_id[link_id]["upstream"] if u in ids and u not in seen]
            depth[link_id] = 1 + max((depth_of(u, seen | {link_id}) for u in ups), default=-1)
        return depth[link_id]

    by_id = {link["link_id"]: link for link in links}
    segment_names = {s["id"]: s for s in segments}
    per_col: dict[int, int] = {}
    nodes = []
    box_w, box_h, gap_x, gap_y, top = 200, 58, 70, 20, 20
    for link in links:
        c = depth_of(link["link_id"])
        row = per_col.get(c, 0)
        per_col[c] = row + 1
        nodes.append(
            {
                **link,
                "x": 20 + c * (box_w + gap_x),
                "y": top + row * (box_h + gap_y),
                "w": box_w,
                "h": box_h,
                "segment_label": segment_names.get(link["segment"], {}),
            }
        )
    pos = {n["link_id"]: n for n in nodes}
    edges = [
        {
            "x1": pos[u]["x"] + box_w,
            "y1": pos[u]["y"] + box_h / 2,
            "x2": n["x"],
            "y2": n["y"] + box_h / 2,
        }
        for n in nodes
        for u in n["upstream"]
        if u in pos
    ]
    columns = max(per_col, default=0) + 1
    return {
        "nodes": nodes,
        "edges": edges,
        "width": 40 + columns * (box_w + gap_x),
        "height": top + max(per_col.values(), default=1) * (box_h + gap_y) + 10,
    }


@router.get("/chains", response_class=HTMLResponse, response_model=None)
def chains_index(state: StateDep) -> Response:
    """The park's first target chain."""
    first = state.park.chains[0].id if state.park is not None else "big_data"
    return RedirectResponse(f"/chains/{first}", status_code=303)


@router.get("/chains/{chain_id}", response_class=HTMLResponse, response_model=None)
def chain_page(page: GraphPage, chain_id: str, link: str | None = None) -> Response:
    """One chain drawn as an SVG of its links coloured by gap type; a link lists its candidates."""
    state = page.state
    m = chain_map(state, chain_id)
    candidates = None
    selected = None
    if link:
        selected = next((n for n in m["links"] if n["link_id"] == link), None)  # type: ignore[attr-defined]
        if selected is not None and state.model is not None:
            candidates = link_candidates(state, chain_id, link, limit=20, offset=0, contacted=())
    return page.render(
        "chain.html",
        chain=m,
        layout=_layout(m["links"], m["segments"]),  # type: ignore[arg-type]
        chains=list(state.chains.values()),
        selected=selected,
        candidates=candidates,
    )
