"""An enterprise's page: profile, every track's scores with the tax range and reasons, the park
firms up- and downstream, its lookalikes, and the outreach history."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.serving.enterprises import enterprise_profile
from api.serving.similar import similar_firms
from api.web.common import ServingPage

router = APIRouter(include_in_schema=False)


@router.get("/enterprises/{enterprise_id}", response_class=HTMLResponse, response_model=None)
def enterprise_page(page: ServingPage, enterprise_id: str) -> Response:
    """Profile, scores with the tax range, reasons, park neighbours and outreach history."""
    profile = enterprise_profile(page.state, page.sessions, enterprise_id)
    similar = similar_firms(page.state, [enterprise_id], k=10, include_members=False)
    return page.render("enterprise.html", e=profile, similar=similar)
