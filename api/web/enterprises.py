"""An enterprise's page: profile, every track's scores with the tax range and reasons, the park
firms up- and downstream, its lookalikes, and the outreach history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.errors import InvalidInput
from api.serving.enterprises import enterprise_profile
from api.serving.similar import similar_firms
from api.web.common import ServingPage
from data import columns as C
from data.landing import track_forms

router = APIRouter(include_in_schema=False)

# a profile field's label (zh, en) and how its value reads; a field not listed is not shown
PROFILE_FIELDS: Final[dict[str, tuple[str, str, str]]] = {
    C.CREDIT_CODE: ("统一社会信用代码", "Credit code", "text"),
    C.STOCK_CODE: ("股票代码", "Stock code", "text"),
    C.PROVINCE: ("省份", "Province", "text"),
    C.CITY: ("城市", "City", "text"),
    C.DISTRICT: ("区县", "District", "text"),
    C.FOUNDED_ON: ("成立日期", "Founded", "date"),
    C.REGISTERED_CAPITAL: ("注册资本", "Registered capital", "wan"),
    C.EMPLOYEES: ("员工人数", "Employees", "count"),
    C.REVENUE: ("营业收入", "Revenue", "wan"),
    C.REVENUE_GROWTH: ("营收增长率", "Revenue growth", "signed_pct"),
    C.NET_MARGIN: ("净利率", "Net margin", "pct"),
    C.OWNERSHIP: ("所有制", "Ownership", "ownership"),
    C.HQ_TYPE: ("总部类型", "Headquarters type", "hq_type"),
    C.IS_LISTED: ("上市公司", "Listed", "bool"),
    C.IS_HIGH_TECH: ("高新技术企业", "High-tech firm", "bool"),
    C.PATENTS: ("专利", "Patents", "count"),
    C.LAST_FUNDING_ON: ("最近融资", "Last funding round", "date"),
    C.INDUSTRY_CODE: ("行业代码", "Industry code", "industry"),
}
_WORDS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "ownership": {
        "central_soe": ("中央企业", "central SOE"),
        "local_soe": ("地方国企", "local SOE"),
        "private": ("民营企业", "private"),
        "foreign": ("外资企业", "foreign"),
        "joint_venture": ("合资企业", "joint venture"),
    },
    "hq_type": {
        "none": ("非总部", "none"),
        "mnc_regional_hq": ("跨国公司地区总部", "MNC regional HQ"),
        "national_hq": ("全国总部", "national HQ"),
        "regional_hq": ("区域总部", "regional HQ"),
    },
    "scheme": {
        "gbt4754_2017": ("国标 GB/T 4754-2017", "GB/T 4754-2017"),
        "sw2021": ("申万 2021", "Shenwan 2021"),
    },
}


def profile_rows(profile: dict[str, object], lang: str) -> list[tuple[str, str]]:
    """The profile as the page shows it: (label, value) in the page's language, money in 万元 /
    m CNY, rates as percentages, codes named, empty fields left out."""
    zh = lang == "zh"
    rows: list[tuple[str, str]] = []
    for key, (label_zh, label_en, kind) in PROFILE_FIELDS.items():
        value = profile.get(key)
        if value is None or value == "":
            continue
        text: str
        if kind == "wan":
            amount = float(value)  # type: ignore[arg-type]
            text = f"{amount:,.0f} 万元" if zh else f"{amount / 100:,.1f} m CNY"
        elif kind == "count":
            text = f"{float(value):,.0f}"  # type: ignore[arg-type]
        elif kind == "pct":
            text = f"{float(value):.1%}"  # type: ignore[arg-type]
        elif kind == "signed_pct":
            text = f"{float(value):+.1%}"  # type: ignore[arg-type]
        elif kind == "bool":
            text = ("是" if value else "否") if zh else ("yes" if value else "no")
        elif kind == "date":
            text = value.isoformat()[:10] if isinstance(value, date | datetime) else str(value)[:10]
        elif kind in _WORDS:
            word = _WORDS[kind].get(str(value))
            text = str(value) if word is None else word[0 if zh else 1]
        elif kind == "industry":
            scheme = _WORDS["scheme"].get(str(profile.get(C.INDUSTRY_SCHEME)))
            text = f"{value}" + (f"（{scheme[0]}）" if zh and scheme else "")
            text += f" ({scheme[1]})" if not zh and scheme else ""
        else:
            text = str(value)
        rows.append((label_zh if zh else label_en, text))
    return rows


@router.get("/enterprises/{enterprise_id}", response_class=HTMLResponse, response_model=None)
def enterprise_page(
    page: ServingPage,
    enterprise_id: str,
    track: Annotated[str | None, Query(max_length=32)] = None,
    landing_form: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Profile, scores with the tax range, reasons, park neighbours and outreach history; an
    officer may value the firm on a track in another landing form (``track``, ``landing_form``)."""
    if landing_form and not track:
        raise InvalidInput("track: give the track whose landing_form it is")
    chosen = (track, landing_form) if landing_form and track else None
    profile = enterprise_profile(page.state, page.sessions, enterprise_id, chosen)
    similar = similar_firms(page.state, [enterprise_id], k=10, include_members=False)
    park = page.state.park
    forms = {t: dict(track_forms(park, t)) for t in park.tracks} if park is not None else {}
    return page.render(
        "enterprise.html",
        e=profile,
        similar=similar,
        profile_rows=profile_rows(profile["profile"], page.lang),  # type: ignore[arg-type]
        forms=forms,
        chosen=chosen,
    )
