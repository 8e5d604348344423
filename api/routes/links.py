"""Chain-link corrections (产业链校核): the review queue, corrections (confirm / move / set /
remove / outside / restore), their log, CSV export and import, and vocabulary suggestions. Every
route is for ``data.pipeline.CORRECTORS`` (analyst, lead, admin): an officer gets 403.

A correction is stored at once and takes effect in the lead lists, gaps, KPIs and lookalikes
at the next load of the service (``POST /api/v1/admin/reload``), and at every load after it,
whatever the import."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api.crm import corrections as store
from api.deps import CorrectorDep, GraphDep, ServingDep, SessionsDep
from api.errors import InvalidInput
from api.schemas import (
    CorrectionIn,
    CorrectionsImportPublic,
    CorrectionsMadePublic,
    CorrectionsPublic,
    InputErrorsPublic,
    ReviewPublic,
    SuggestionsPublic,
)
from api.serving import links as service
from data.corrections import corrections_frame, read_corrections_csv
from data.loaders import DataFileError

router = APIRouter(
    tags=["links"],
    responses={403: {"description": "a role that may not correct chain links (officer)"}},
)
TAKES_EFFECT = "at the next reload of the service (POST /api/v1/admin/reload) and every load after"
MAX_CSV_BYTES = 2_000_000


@router.get("/links/review", response_model=ReviewPublic)
async def get_review(
    state: ServingDep,
    sessions: SessionsDep,
    _caller: CorrectorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The review queue of the served park: firms whose attachment is uncertain, the most
    valuable corrections first (priority = chance it is wrong × what is at stake), each with
    its links and evidence, why it is there and the stake."""
    return await run_in_threadpool(service.review_page, state, sessions, offset=offset, limit=limit)


@router.post(
    "/links/corrections",
    response_model=CorrectionsMadePublic,
    status_code=201,
    responses={
        404: {"description": "unknown enterprise_id"},
        422: {"description": "unknown link, a link of another park's chain, a bad shape"},
    },
)
async def post_correction(
    payload: CorrectionIn, state: GraphDep, sessions: SessionsDep, caller: CorrectorDep
) -> dict[str, Any]:
    """Confirm a link, move the firm from one link to another, set its links, remove one, mark
    it outside every chain of the park, or restore the attacher's answer; with a note."""

    def work() -> dict[str, Any]:
        made = store.build(
            state,
            caller,
            enterprise_id=payload.enterprise_id,
            action=payload.action,
            link_id=payload.link_id,
            to_link_id=payload.to_link_id,
            links=payload.links,
            note=payload.note,
        )
        rows = store.record(
            sessions,
            caller,
            made,
            attacher_links=service.attacher_links_of(state, [payload.enterprise_id]),
            source="api",
        )
        return {"stored": rows, "takes_effect": TAKES_EFFECT}

    return await run_in_threadpool(work)


@router.get("/links/corrections", response_model=CorrectionsPublic)
async def get_corrections(
    state: GraphDep,
    sessions: SessionsDep,
    _caller: CorrectorDep,
    enterprise_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The corrections of the served park, newest first: who, when, what, the note, and the
    firm's links before → after (the append-only audit)."""
    return await run_in_threadpool(
        lambda: store.list_corrections(
            sessions,
            park_id=state.park_id,
            enterprise_id=enterprise_id,
            limit=limit,
            offset=offset,
        )
    )


@router.get(
    "/links/corrections/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the corrections as CSV"}},
)
async def export_corrections(
    state: GraphDep, sessions: SessionsDep, _caller: CorrectorDep
) -> Response:
    """Every correction of the served park as a CSV that the import reads back."""
    found = await run_in_threadpool(store.stored, sessions)
    mine = [c for c in found if c.park_id == state.park_id]
    body = corrections_frame(mine).to_csv(index=False)
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="link-corrections-{state.park_id}.csv"'
        },
    )


@router.post(
    "/links/corrections/import",
    response_model=CorrectionsImportPublic,
    status_code=201,
    responses={
        422: {
            "model": CorrectionsImportPublic | InputErrorsPublic,
            "description": "rows refused (each with its line, column and reason), or a body that"
            " is not a readable CSV; nothing stored",
        }
    },
)
async def import_corrections(
    request: Request, state: GraphDep, sessions: SessionsDep, caller: CorrectorDep
) -> Response:
    """A CSV of corrections (body: the file, ``text/csv``; columns ``enterprise_id``,
    ``action``, ``link_id``, ``to_link_id``, ``note``, optional ``park_id``, ``corrected_by``,
    ``corrected_at``): all stored when every row is valid, else none, with each bad row's line,
    column and reason (422)."""
    body = await request.body()
    if len(body) > MAX_CSV_BYTES:
        raise InvalidInput(f"body: larger than {MAX_CSV_BYTES:,} bytes")

    def work() -> tuple[int, dict[str, Any]]:
        with tempfile.TemporaryDirectory(prefix="corrections-") as folder:
            path = FilePath(folder) / "corrections.csv"
            path.write_bytes(body)
            try:
                found = read_corrections_csv(
                    path,
                    park_id=state.park_id,
                    corrected_by=caller.username,
                    enterprise_ids=state.enterprise_index,
                )
            except DataFileError as exc:
                raise InvalidInput(f"body: {str(exc).removeprefix(str(path) + ': ')}") from exc
        rejects = [
            {
                "row": int(r["row"]),
                "column": str(r["column"]),
                "value": _plain(r["value"]),
                "reason": str(r["reason"]),
            }
            for r in found.rejects.to_dict("records")
        ]
        if not found.accepted:
            return 422, {
                "rows": found.rows,
                "stored": 0,
                "rejected_rows": found.rows_rejected,
                "rejects": rejects,
            }
        for c in found.corrections:
            if c.park_id != state.park_id:
                raise InvalidInput(
                    f"park_id: the service corrects park {state.park_id}, not {c.park_id}"
                )
        ids = sorted({c.enterprise_id for c in found.corrections})
        rows = store.record(
            sessions,
            caller,
            list(found.corrections),
            attacher_links=service.attacher_links_of(state, ids),
            source="csv",
        )
        return 201, {"rows": found.rows, "stored": len(rows), "rejected_rows": 0, "rejects": []}

    status, result = await run_in_threadpool(work)
    return JSONResponse(
        CorrectionsImportPublic.model_validate(result).model_dump(mode="json"), status_code=status
    )


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, (str, int, float, bool)) else str(value)


@router.get("/links/suggestions", response_model=SuggestionsPublic)
async def get_suggestions(
    state: GraphDep,
    sessions: SessionsDep,
    _caller: CorrectorDep,
    lang: Literal["zh", "en"] = "zh",
) -> dict[str, Any]:
    """Vocabulary changes the corrections suggest (a term for a link, an exclusion, a generic
    word), each with the firms it changes, the corrections it would have got right and those it
    would undo; evaluated on the corrected firms. Nothing is applied: a person accepts one into
    ``data/vocabulary/``."""
    return await run_in_threadpool(lambda: service.suggestions_page(state, sessions, lang=lang))
