"""The 载体 pages: every building of the park with occupancy, tax and 亿元楼 status, and a page per
building with its occupancy over time and tax per year (charts as on the KPI page), its tenants,
the leads that would fill it and the leads closing its 亿元楼 gap. Same functions as
``/api/v1/buildings``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.serving.buildings import building_page, buildings_list
from api.serving.memo import Memo
from api.web.common import GraphPage
from industry_graph.space import quarter_of
from training.charts import building_tax_chart, occupancy_chart, svg

router = APIRouter(include_in_schema=False)
charts = Memo(size=256)  # SVG text per chart and its data


@router.get("/buildings", response_class=HTMLResponse, response_model=None)
def buildings_page(page: GraphPage) -> Response:
    """载体: each building's kind, areas, occupancy, tax then and now and 亿元楼 status."""
    return page.render("buildings.html", b=buildings_list(page.state, page.sessions))


@router.get("/buildings/{building_id}", response_class=HTMLResponse, response_model=None)
def building_detail_page(page: GraphPage, building_id: str) -> Response:
    """One building: occupancy over time, tax per year, tenants, leads to fill it."""
    detail = building_page(page.state, page.sessions, building_id)
    quarters = [q["quarter"] for q in detail["occupancy"]]
    occupancy = [q["occupancy"] for q in detail["occupancy"]]
    now = str(quarter_of(buildings_list(page.state, page.sessions)["as_of"]))
    years = [r["year"] for r in detail["tax_by_year"]]
    tax = [r["tax_wan_cny"] for r in detail["tax_by_year"]]
    threshold = float(detail["threshold_wan_cny"])
    lang = page.lang
    occupancy_svg = charts.get(
        ("occupancy", lang, building_id, tuple(quarters), tuple(occupancy), now),
        lambda: svg(occupancy_chart(quarters, occupancy, now=now, lang=lang)),
    )
    tax_svg = (
        charts.get(
            ("tax", lang, building_id, tuple(years), tuple(tax), threshold),
            lambda: svg(building_tax_chart(years, tax, threshold=threshold, lang=lang)),
        )
        if years
        else None
    )
    return page.render(
        "building.html", d=detail, occupancy_svg=occupancy_svg, tax_svg=tax_svg, now=now
    )
