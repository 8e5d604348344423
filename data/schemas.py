"""pandera schemas of the data contract: one ``DataFrameModel`` per table (see DESIGN.md).

``coerce`` is on, so a file whose types differ (CSV text, Excel cells) is converted and every
cell that cannot be converted is reported with its index, which the loaders turn into a source row.
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from data import columns as C
from data.credit_code import is_valid_credit_code
from data.reference import known_tracks

_CREDIT_CODE_CHECK = "valid_credit_code"
_STOCK_CODE = r"^\d{6}$"
_ENTERPRISE_ID = r"^([0-9A-HJ-NPQRTUWXY]{18}|stock:\d{6}|[a-z]+:[0-9A-Za-z_.-]+)$"


def _valid_credit_codes(series: pd.Series) -> pd.Series:
    return series.map(lambda v: pd.isna(v) or is_valid_credit_code(str(v))).astype(bool)


class _Contract(pa.DataFrameModel):
    class Config:
        coerce = True
        strict = False


class Enterprises(_Contract):
    """Every firm the service knows: park firms and candidates."""

    enterprise_id: Series[str] = pa.Field(nullable=False, str_matches=_ENTERPRISE_ID)
    credit_code: Series[str] = pa.Field(nullable=True)
    stock_code: Series[str] = pa.Field(nullable=True, str_matches=_STOCK_CODE)
    name: Series[str] = pa.Field(nullable=False, str_length={"min_value": 1})
    province: Series[str] = pa.Field(nullable=True)
    city: Series[str] = pa.Field(nullable=True)
    district: Series[str] = pa.Field(nullable=True)
    founded_on: Series[pa.DateTime] = pa.Field(nullable=True)
    registered_capital_wan_cny: Series[float] = pa.Field(nullable=True, ge=0)
    employees: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    revenue_wan_cny: Series[float] = pa.Field(nullable=True, ge=0)
    revenue_growth: Series[float] = pa.Field(nullable=True, ge=-1, le=100)
    net_margin: Series[float] = pa.Field(nullable=True, ge=-100, le=1)
    ownership: Series[str] = pa.Field(nullable=True, isin=C.OWNERSHIPS)
    hq_type: Series[str] = pa.Field(nullable=True, isin=C.HQ_TYPES)
    is_listed: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    is_high_tech: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    patents: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    last_funding_on: Series[pa.DateTime] = pa.Field(nullable=True)
    industry_code: Series[str] = pa.Field(nullable=True)
    industry_scheme: Series[str] = pa.Field(nullable=True, isin=C.INDUSTRY_SCHEMES)
    # expansion signals from annual reports (optional: registries do not carry them)
    office_province: Series[str] | None = pa.Field(nullable=True)
    office_city: Series[str] | None = pa.Field(nullable=True)
    office_district: Series[str] | None = pa.Field(nullable=True)
    office_city_changed: Series[pd.BooleanDtype] | None = pa.Field(nullable=True)
    employee_growth: Series[float] | None = pa.Field(nullable=True, ge=-1, le=100)
    rd_staff_growth: Series[float] | None = pa.Field(nullable=True, ge=-1, le=100)

    @pa.check(C.CREDIT_CODE, name=_CREDIT_CODE_CHECK)
    @classmethod
    def credit_code_is_valid(cls, series: Series[str]) -> Series[bool]:
        """GB 32100-2015: 18 characters with the right check character."""
        return _valid_credit_codes(series)  # type: ignore[return-value]


class EnterpriseLinks(_Contract):
    """Which chain links a firm works in, and its share of activity there."""

    enterprise_id: Series[str] = pa.Field(nullable=False)
    link_id: Series[str] = pa.Field(nullable=False, str_matches=r"^[a-z0-9_]+\.[a-z0-9_]+$")
    share: Series[float] = pa.Field(nullable=False, gt=0, le=1)
    # how the link was found (optional so that a hand-made table of links still loads)
    evidence_kind: Series[str] | None = pa.Field(nullable=True, isin=C.EVIDENCE_KINDS)
    evidence: Series[str] | None = pa.Field(nullable=True)
    confidence: Series[float] | None = pa.Field(nullable=True, ge=0, le=1)


class Industries(_Contract):
    """Industry classes (GB/T 4754-2017, Shenwan-2021)."""

    code: Series[str] = pa.Field(nullable=False)
    scheme: Series[str] = pa.Field(nullable=False, isin=C.INDUSTRY_SCHEMES)
    name: Series[str] = pa.Field(nullable=False)
    parent_code: Series[str] = pa.Field(nullable=True)


class IndustryRelations(_Contract):
    """``to_code`` is upstream of ``from_code`` (ChainKnowledgeGraph ``industry_up``), ``count`` times."""

    from_code: Series[str] = pa.Field(nullable=False)
    to_code: Series[str] = pa.Field(nullable=False)
    scheme: Series[str] = pa.Field(nullable=False, isin=C.INDUSTRY_SCHEMES)
    count: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)


class Products(_Contract):
    """Products named in annual reports and the chain graph."""

    product_id: Series[str] = pa.Field(nullable=False)
    name: Series[str] = pa.Field(nullable=False)


class EnterpriseProducts(_Contract):
    """Which products a firm makes, with their (revenue) weight."""

    enterprise_id: Series[str] = pa.Field(nullable=False)
    product_id: Series[str] = pa.Field(nullable=False)
    weight: Series[float] = pa.Field(nullable=True, ge=0, le=1)


class ProductRelations(_Contract):
    """Product-to-product relations (upstream / subclass / downstream)."""

    from_product: Series[str] = pa.Field(nullable=False)
    to_product: Series[str] = pa.Field(nullable=False)
    relation: Series[str] = pa.Field(nullable=False, isin=C.RELATIONS)


class ParkRoster(_Contract):
    """Which firms operate in which park, since when."""

    park_id: Series[str] = pa.Field(nullable=False)
    enterprise_id: Series[str] = pa.Field(nullable=False)
    entered_on: Series[pa.DateTime] = pa.Field(nullable=True)


class TaxRecords(_Contract):
    """Revenue and tax paid per firm and year."""

    enterprise_id: Series[str] = pa.Field(nullable=False)
    year: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1978, le=2100)
    revenue_wan_cny: Series[float] = pa.Field(nullable=True, ge=0)
    tax_paid_wan_cny: Series[float] = pa.Field(nullable=True, ge=0)


class Outreach(_Contract):
    """Contacts made by the park's officers and their outcomes (``pending`` = censored)."""

    outreach_id: Series[str] = pa.Field(nullable=False)
    enterprise_id: Series[str] = pa.Field(nullable=False)
    park_id: Series[str] = pa.Field(nullable=False)
    track: Series[str] = pa.Field(nullable=False, isin=sorted(known_tracks()))
    campaign: Series[str] = pa.Field(nullable=True)
    contacted_on: Series[pa.DateTime] = pa.Field(nullable=False)
    outcome: Series[str] = pa.Field(nullable=False, isin=C.OUTCOMES)
    closed_on: Series[pa.DateTime] = pa.Field(nullable=True)
    officer: Series[str] = pa.Field(nullable=True)
    note: Series[str] = pa.Field(nullable=True)


class Oracle(_Contract):
    """The generator's true signing probabilities and what each candidate would bring if it
    landed (evaluation only; the value columns are added by ``industry_graph.demo``)."""

    park_id: Series[str] = pa.Field(nullable=False)
    enterprise_id: Series[str] = pa.Field(nullable=False)
    track: Series[str] = pa.Field(nullable=False, isin=sorted(known_tracks()))
    p_sign: Series[float] = pa.Field(nullable=False, ge=0, le=1)
    true_tax_wan_cny: Series[float] = pa.Field(nullable=False, ge=0)
    true_gap_value: Series[float] | None = pa.Field(nullable=False, ge=0, le=1)
    true_value_wan_cny: Series[float] | None = pa.Field(nullable=False, ge=0)
    oracle_expected_value_wan_cny: Series[float] | None = pa.Field(nullable=False, ge=0)


_BUILDING_ID = r"^[^\s;](?:[^;]*[^\s;])?$"  # any name without ";" or outer spaces
_ID_LIST = r"^[a-z][a-z0-9_]*(;[a-z][a-z0-9_]*)*$"


class ParkBuildings(_Contract):
    """The park's carriers (载体): one row per building or phase, its areas, purpose and rent.

    ``free_area_m2`` is the lettable area free on ``free_on``; later changes are dated rows of
    ``building_supply`` (completions, new phases) and ``building_tenants`` (move-ins, move-outs).
    A building not completed yet has no free area now and a ``completion`` supply row. Checks
    across columns and tables (lettable ≤ floor area, free ≤ lettable, a band low ≤ high, supply
    and tenants of known buildings, tenants within a building's lettable area) are
    ``data.buildings.space_rejects``: each failure then names its own column."""

    park_id: Series[str] = pa.Field(nullable=False)
    building_id: Series[str] = pa.Field(nullable=False, str_matches=_BUILDING_ID)
    name: Series[str] = pa.Field(nullable=False, str_length={"min_value": 1})
    carrier: Series[str] = pa.Field(nullable=True)
    kind: Series[str] = pa.Field(nullable=False, isin=C.BUILDING_KINDS)
    floor_area_m2: Series[float] = pa.Field(nullable=False, gt=0)
    lettable_area_m2: Series[float] = pa.Field(nullable=False, gt=0)
    free_area_m2: Series[float] = pa.Field(nullable=False, ge=0)
    free_on: Series[pa.DateTime] = pa.Field(nullable=False)
    completed_on: Series[pa.DateTime] = pa.Field(nullable=True)
    chains: Series[str] = pa.Field(nullable=True, str_matches=_ID_LIST)
    tracks: Series[str] = pa.Field(nullable=True, str_matches=_ID_LIST)
    rent_low_cny_m2_day: Series[float] = pa.Field(nullable=True, gt=0, le=100)
    rent_high_cny_m2_day: Series[float] = pa.Field(nullable=True, gt=0, le=100)


class BuildingSupply(_Contract):
    """Dated additions of free lettable area: a building completed, a new phase, a floor refitted."""

    park_id: Series[str] = pa.Field(nullable=False)
    building_id: Series[str] = pa.Field(nullable=False, str_matches=_BUILDING_ID)
    available_on: Series[pa.DateTime] = pa.Field(nullable=False)
    area_m2: Series[float] = pa.Field(nullable=False, gt=0)
    reason: Series[str] = pa.Field(nullable=False, isin=C.SUPPLY_REASONS)


class BuildingTenants(_Contract):
    """Which firm leases how much of which building since when (``until``: the day it left)."""

    park_id: Series[str] = pa.Field(nullable=False)
    building_id: Series[str] = pa.Field(nullable=False, str_matches=_BUILDING_ID)
    enterprise_id: Series[str] = pa.Field(nullable=False, str_matches=_ENTERPRISE_ID)
    area_m2: Series[float] = pa.Field(nullable=False, gt=0)
    since: Series[pa.DateTime] = pa.Field(nullable=False)
    until: Series[pa.DateTime] = pa.Field(nullable=True)


SCHEMAS: Final[dict[str, type[_Contract]]] = {
    "enterprises": Enterprises,
    "enterprise_links": EnterpriseLinks,
    "industries": Industries,
    "industry_relations": IndustryRelations,
    "products": Products,
    "enterprise_products": EnterpriseProducts,
    "product_relations": ProductRelations,
    "park_roster": ParkRoster,
    "tax_records": TaxRecords,
    "outreach": Outreach,
    "park_buildings": ParkBuildings,
    "building_supply": BuildingSupply,
    "building_tenants": BuildingTenants,
}

# Primary keys: a later row repeating a key is rejected, naming the row it repeats.
KEYS: Final[dict[str, tuple[str, ...]]] = {
    "enterprises": (C.ENTERPRISE_ID,),
    "enterprise_links": (C.ENTERPRISE_ID, C.LINK_ID),
    "industries": (C.SCHEME, C.CODE),
    "industry_relations": (C.SCHEME, C.FROM_CODE, C.TO_CODE),
    "products": (C.PRODUCT_ID,),
    "enterprise_products": (C.ENTERPRISE_ID, C.PRODUCT_ID),
    "product_relations": (C.FROM_PRODUCT, C.TO_PRODUCT, C.RELATION),
    "park_roster": (C.PARK_ID, C.ENTERPRISE_ID),
    "tax_records": (C.ENTERPRISE_ID, C.YEAR),
    "outreach": (C.OUTREACH_ID,),
    "park_buildings": (C.PARK_ID, C.BUILDING_ID),
    "building_supply": (C.PARK_ID, C.BUILDING_ID, C.AVAILABLE_ON, C.SUPPLY_REASON),
    "building_tenants": (C.PARK_ID, C.BUILDING_ID, C.ENTERPRISE_ID, C.SINCE),
}

TABLES: Final = tuple(SCHEMAS)
# The park's space (载体): a universe written before these tables existed reads them as empty.
SPACE_TABLES: Final = ("park_buildings", "building_supply", "building_tenants")


def required_columns(table: str) -> tuple[str, ...]:
    """Columns that must be present and non-null in ``table``."""
    schema = SCHEMAS[table].to_schema()
    return tuple(name for name, col in schema.columns.items() if not col.nullable)


def column_order(table: str) -> tuple[str, ...]:
    """The contract's columns of ``table`` in order."""
    return tuple(SCHEMAS[table].to_schema().columns)
