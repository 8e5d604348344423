"""The feature spec: every model input with its dtype and its label in Chinese and English.

Reasons on leads name features by these labels, so a column added here is explained everywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final, Literal

Kind = Literal["float", "flag"]


@dataclass(frozen=True)
class Feature:
    """One column of the feature matrix."""

    name: str
    kind: Kind
    label_zh: str
    label_en: str
    group: str
    unit: str = ""

    def to_dict(self) -> dict[str, str]:
        """Plain dict (logged with the model)."""
        return asdict(self)


FIRM_FEATURES: Final[tuple[Feature, ...]] = (
    Feature("log_revenue", "float", "营业收入规模", "revenue scale", "fundamentals", "log(1+万元)"),
    Feature("revenue_growth", "float", "营收增长率", "revenue growth", "growth", "fraction"),
    Feature("net_margin", "float", "净利率", "net margin", "fundamentals", "fraction"),
    Feature("log_employees", "float", "员工规模", "staff size", "fundamentals", "log(1+persons)"),
    Feature(
        "log_capital", "float", "注册资本", "registered capital", "fundamentals", "log(1+万元)"
    ),
    Feature("firm_age", "float", "企业年龄", "firm age", "age", "years"),
    Feature("log_patents", "float", "专利数量", "patents", "innovation", "log(1+n)"),
    Feature("is_listed", "flag", "上市公司", "listed company", "fundamentals"),
    Feature("is_high_tech", "flag", "高新技术企业", "high-tech enterprise", "innovation"),
    Feature("own_central_soe", "flag", "央企", "central SOE", "ownership"),
    Feature("own_local_soe", "flag", "地方国企", "local SOE", "ownership"),
    Feature("own_foreign", "flag", "外资企业", "foreign-owned", "ownership"),
    Feature("own_joint_venture", "flag", "合资企业", "joint venture", "ownership"),
    Feature("hq_mnc", "flag", "跨国公司地区总部", "MNC regional HQ", "headquarters"),
    Feature("hq_national", "flag", "全国性总部", "national HQ", "headquarters"),
    Feature("hq_regional", "flag", "区域总部", "regional HQ", "headquarters"),
    Feature(
        "funding_recency", "float", "近期融资", "recent funding", "funding", "1 just after a round"
    ),
    Feature("distance_km", "float", "与园区距离", "distance to the park", "location", "km"),
    Feature("same_province", "flag", "与园区同省", "same province as the park", "location"),
    Feature("yangtze_delta", "flag", "长三角企业", "Yangtze River Delta firm", "location"),
    Feature(
        "office_in_park_city",
        "flag",
        "已在园区所在城市设办公地",
        "has an office in the park's city, registered elsewhere",
        "location",
    ),
    Feature(
        "office_moved", "flag", "近期迁移办公地", "moved its office city last year", "expansion"
    ),
    Feature("employee_growth", "float", "员工增长率", "staff growth", "expansion", "fraction"),
    Feature(
        "rd_staff_growth", "float", "研发人员增长率", "R&D staff growth", "expansion", "fraction"
    ),
    Feature(
        "roster_fit",
        "float",
        "与园区企业相似度",
        "resemblance to the park's firms",
        "roster",
        "cosine to the roster's centre",
    ),
    Feature(
        "industry_tax_rate", "float", "行业税负水平", "industry tax rate", "industry", "fraction"
    ),
    Feature("gap_value", "float", "补链价值", "gap-filling value", "chain", "0-1"),
    Feature("synergy", "float", "与园区企业协同", "synergy with park firms", "chain", "0-1"),
    Feature("n_links", "float", "所在产业链环节数", "chain links worked in", "chain"),
    Feature(
        "in_target_chain",
        "float",
        "园区重点产业链占比",
        "share in the park's target chains",
        "chain",
        "0-1",
    ),
    Feature("log_last_tax", "float", "上年纳税额", "last year's tax", "tax_history", "log(1+万元)"),
    Feature(
        "last_tax_rate", "float", "上年税负率", "last year's tax rate", "tax_history", "fraction"
    ),
    Feature("has_tax_history", "flag", "有纳税记录", "has a tax record", "tax_history"),
    Feature(
        "track_index",
        "float",
        "招商赛道",
        "recruitment track",
        "track",
        "its place in the park YAML",
    ),
    Feature(
        "landing_form",
        "float",
        "落地形式",
        "landing form",
        "value",
        "its place among the track's forms (park YAML)",
    ),
    Feature("site_bound", "flag", "税收在生产地缴纳", "pays its tax where it produces", "value"),
)

FEATURE_NAMES: Final = tuple(f.name for f in FIRM_FEATURES)
BY_NAME: Final = {f.name: f for f in FIRM_FEATURES}
TAX_HISTORY: Final = ("log_last_tax", "last_tax_rate", "has_tax_history")
# the park's value rule (park YAML), read by the scorer and learned by no model
VALUE_INPUTS: Final = ("landing_form", "site_bound")
# the tax model sees neither the track nor the chain's gap score (tax does not depend on them)
TAX_FEATURES: Final = tuple(
    n
    for n in FEATURE_NAMES
    if n
    not in {"track_index", "gap_value", "synergy", "in_target_chain", "roster_fit", *VALUE_INPUTS}
)
PROPENSITY_FEATURES: Final = tuple(
    n for n in FEATURE_NAMES if n not in {*TAX_HISTORY, *VALUE_INPUTS}
)
