"""产业链校核, the strategists' page (analyst, lead, admin): the review queue with each firm's
current links and their evidence, a form per firm to confirm, move, remove or mark it outside
every chain, the corrections log and the vocabulary suggestions. It calls the same functions as
``/api/v1/links``; a correction takes effect in the lists at the next reload, which an analyst
(or admin) starts here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from api.crm import corrections as store
from api.deps import HolderDep
from api.serving import links as service
from api.web.common import Page, gate
from data.corrections import ACTION_LABELS
from data.pipeline import CORRECTORS
from industry_graph.attach import evidence_text
from industry_graph.review import SITUATION_LABELS

router = APIRouter(include_in_schema=False)
LinksPage = Annotated[
    Page,
    Depends(
        gate(
            "data",
            "graph",
            "model",
            roles=CORRECTORS,
            forbidden="产业链校核 is for analysts and team leads",
        )
    ),
]
RELOADERS = ("analyst", "admin")  # who may reload the service (as POST /api/v1/admin/reload)
PAGE_SIZE = 20


def park_links(page: Page) -> list[dict[str, str]]:
    """Every link of the park's chains, chain by chain, for the forms' choices."""
    state = page.state
    assert state.park is not None
    out = []
    for target in state.park.chains:
        chain = state.chains[target.id]
        for link in chain.links:
            out.append(
                {
                    "id": link.id,
                    "label": f"{chain.name_zh if page.lang == 'zh' else chain.name_en} · "
                    + (link.name_zh if page.lang == "zh" else link.name_en),
                }
            )
    return out


def _evidence(item: dict[str, Any], lang: str) -> None:
    for link in item["links"]:
        link["text"] = evidence_text(str(link["evidence_kind"]), link["evidence"], lang=lang)


@router.get("/links", response_class=HTMLResponse, response_model=None)
def links_page(
    page: LinksPage,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    saved: Annotated[str | None, Query(max_length=64)] = None,
    reloaded: Annotated[str | None, Query(max_length=40)] = None,
    firm: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The queue (a page of it, or one firm's item), the log and the suggestions."""
    review = service.review_page(
        page.state, page.sessions, offset=offset, limit=PAGE_SIZE, enterprise_id=firm or None
    )
    for item in review["items"]:
        _evidence(item, page.lang)
    log = store.list_corrections(page.sessions, park_id=page.state.park_id, limit=50)
    names = page.state.tables["enterprises"]
    for row in log["items"]:
        position = page.state.row_of(row["enterprise_id"])
        row["name"] = (
            row["enterprise_id"] if position is None else str(names["name"].iloc[position])
        )
    suggestions = service.suggestions_page(page.state, page.sessions, lang=page.lang)
    return page.render(
        "links.html",
        review=review,
        offset=offset,
        page_size=PAGE_SIZE,
        log=log,
        suggestions=suggestions,
        choices=park_links(page),
        actions={a: ACTION_LABELS[a] for a in ("confirm", "move", "remove", "outside", "restore")},
        situations=SITUATION_LABELS,
        saved=saved,
        reloaded=reloaded,
        can_reload=page.me.role in RELOADERS,
        firm=firm or "",
    )


@router.post("/links/correct", response_model=None)
def correct(
    page: LinksPage,
    enterprise_id: Annotated[str, Form(max_length=64)],
    action: Annotated[str, Form(max_length=16)],
    link_id: Annotated[str, Form(max_length=80)] = "",
    to_link_id: Annotated[str, Form(max_length=80)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/links",
) -> Response:
    """One firm's form: confirm / move / remove / outside / restore, with a note. A link the
    action does not use is ignored (the form sends both selects)."""
    uses_link = action in ("confirm", "move", "remove", "restore")
    made = store.build(
        page.state,
        page.me,
        enterprise_id=enterprise_id,
        action=action,
        link_id=(link_id or None) if uses_link else None,
        to_link_id=(to_link_id or None) if action == "move" else None,
        note=note,
    )
    store.record(
        page.sessions,
        page.me,
        made,
        attacher_links=service.attacher_links_of(page.state, [enterprise_id]),
        source="page",
    )
    return page.redirect(back, default="/links", saved=enterprise_id)


@router.post("/links/reload", response_model=None)
async def reload(page: LinksPage, holder: HolderDep) -> Response:
    """Reload the service so the lists, gaps and KPIs show the corrections (analyst, admin)."""
    if page.me.role not in RELOADERS:
        raise PermissionError("reloading the service is for analysts and admins")
    new = await run_in_threadpool(holder.load)
    return page.redirect("/links", default="/links", reloaded=new.loaded_at)
