"""Column names of the data contract, one constant each, and the value sets they take."""

from __future__ import annotations

from typing import Final

# enterprises
ENTERPRISE_ID: Final = "enterprise_id"
CREDIT_CODE: Final = "credit_code"
STOCK_CODE: Final = "stock_code"
NAME: Final = "name"
PROVINCE: Final = "province"
CITY: Final = "city"
DISTRICT: Final = "district"
FOUNDED_ON: Final = "founded_on"
REGISTERED_CAPITAL: Final = "registered_capital_wan_cny"
EMPLOYEES: Final = "employees"
REVENUE: Final = "revenue_wan_cny"
REVENUE_GROWTH: Final = "revenue_growth"
NET_MARGIN: Final = "net_margin"
OWNERSHIP: Final = "ownership"
HQ_TYPE: Final = "hq_type"
IS_LISTED: Final = "is_listed"
IS_HIGH_TECH: Final = "is_high_tech"
PATENTS: Final = "patents"
LAST_FUNDING_ON: Final = "last_funding_on"
INDUSTRY_CODE: Final = "industry_code"
INDUSTRY_SCHEME: Final = "industry_scheme"
# optional free-text registry fields kept so that an import loses nothing a registry export carries
COMPANY_TYPE: Final = "company_type"
REGISTERED_ADDRESS: Final = "registered_address"
BUSINESS_SCOPE: Final = "business_scope"
DESCRIPTION: Final = "description"
# optional expansion signals (annual reports): where the firm works, and whether it grows or moves
OFFICE_PROVINCE: Final = "office_province"
OFFICE_CITY: Final = "office_city"
OFFICE_DISTRICT: Final = "office_district"
OFFICE_CITY_CHANGED: Final = "office_city_changed"  # office city differs from the year before
EMPLOYEE_GROWTH: Final = "employee_growth"
RD_STAFF_GROWTH: Final = "rd_staff_growth"

# enterprise_links
LINK_ID: Final = "link_id"
SHARE: Final = "share"
EVIDENCE_KIND: Final = "evidence_kind"
EVIDENCE: Final = "evidence"
CONFIDENCE: Final = "confidence"

# link corrections (a strategist's confirm / move / remove / outside / restore; data/corrections.py)
CORRECTION_ID: Final = "correction_id"
CORRECTION_ACTION: Final = "action"
TO_LINK_ID: Final = "to_link_id"
CORRECTED_BY: Final = "corrected_by"
CORRECTED_AT: Final = "corrected_at"

# industries
CODE: Final = "code"
SCHEME: Final = "scheme"
PARENT_CODE: Final = "parent_code"

# industry_relations (upstream industries of an industry, with the evidence count)
FROM_CODE: Final = "from_code"
TO_CODE: Final = "to_code"
COUNT: Final = "count"

# products, enterprise_products, product_relations
PRODUCT_ID: Final = "product_id"
WEIGHT: Final = "weight"
FROM_PRODUCT: Final = "from_product"
TO_PRODUCT: Final = "to_product"
RELATION: Final = "relation"

# park_roster
PARK_ID: Final = "park_id"
ENTERED_ON: Final = "entered_on"

# tax_records
YEAR: Final = "year"
TAX_PAID: Final = "tax_paid_wan_cny"

# outreach
OUTREACH_ID: Final = "outreach_id"
TRACK: Final = "track"
CAMPAIGN: Final = "campaign"
CONTACTED_ON: Final = "contacted_on"
OUTCOME: Final = "outcome"
CLOSED_ON: Final = "closed_on"
OFFICER: Final = "officer"
NOTE: Final = "note"
PIPELINE_CAMPAIGN: Final = "pipeline"  # the campaign of outcomes read from the service's pipeline

# oracle (evaluation only): the true P(sign if approached now) and what the firm would bring
P_SIGN: Final = "p_sign"
TRUE_TAX: Final = "true_tax_wan_cny"  # the tax the whole group pays a year
TRUE_FORM: Final = "true_landing_form"  # the form it would land in on the track (hidden)
TRUE_UNIT_SHARE: Final = "true_unit_share"  # the share of the group's tax that unit books here
TRUE_UNIT_TAX: Final = "true_unit_tax_wan_cny"  # what the park would collect a year: tax × share
TRUE_GAP_VALUE: Final = "true_gap_value"  # from its generated links against the true park gaps
TRUE_VALUE: Final = "true_value_wan_cny"  # the park's value rule on the unit's tax and gaps
ORACLE_EXPECTED_VALUE: Final = "oracle_expected_value_wan_cny"  # p_sign × true value

# rejects files
REJECT_ROW: Final = "row"
REJECT_COLUMN: Final = "column"
REJECT_VALUE: Final = "value"
REJECT_REASON: Final = "reason"
REJECT_ACTION: Final = "action"
REJECT_COLUMNS: Final = (REJECT_ROW, REJECT_COLUMN, REJECT_VALUE, REJECT_REASON, REJECT_ACTION)
ACTION_ROW_REJECTED: Final = "row_rejected"
ACTION_VALUE_CLEARED: Final = "value_cleared"

# value sets
OWNERSHIPS: Final = ("central_soe", "local_soe", "private", "foreign", "joint_venture")
HQ_TYPES: Final = ("none", "mnc_regional_hq", "national_hq", "regional_hq")
INDUSTRY_SCHEMES: Final = ("gbt4754_2017", "sw2021")
OUTCOMES: Final = ("pending", "no_response", "declined", "interested", "signed")
RELATIONS: Final = ("upstream", "subclass", "downstream")

ENTERPRISE_COLUMNS: Final = (
    ENTERPRISE_ID,
    CREDIT_CODE,
    STOCK_CODE,
    NAME,
    PROVINCE,
    CITY,
    DISTRICT,
    FOUNDED_ON,
    REGISTERED_CAPITAL,
    EMPLOYEES,
    REVENUE,
    REVENUE_GROWTH,
    NET_MARGIN,
    OWNERSHIP,
    HQ_TYPE,
    IS_LISTED,
    IS_HIGH_TECH,
    PATENTS,
    LAST_FUNDING_ON,
    INDUSTRY_CODE,
    INDUSTRY_SCHEME,
)
ENTERPRISE_EXTRA_COLUMNS: Final = (COMPANY_TYPE, REGISTERED_ADDRESS, BUSINESS_SCOPE, DESCRIPTION)
ENTERPRISE_OPTIONAL_SIGNALS: Final = (
    OFFICE_PROVINCE,
    OFFICE_CITY,
    OFFICE_DISTRICT,
    OFFICE_CITY_CHANGED,
    EMPLOYEE_GROWTH,
    RD_STAFF_GROWTH,
)
# "manual": a strategist's correction (data/corrections.py), applied over the attacher's rows
EVIDENCE_KINDS: Final = ("product", "text", "industry_code", "manual")

# park_buildings: the park's carriers (载体), one row per building (栋) or phase
BUILDING_ID: Final = "building_id"
BUILDING_KIND: Final = "kind"
CARRIER: Final = "carrier"  # the project a building belongs to (市北壹中心 for its T1, T2 …)
FLOOR_AREA: Final = "floor_area_m2"  # 建筑面积, as the plan counts development
LETTABLE_AREA: Final = "lettable_area_m2"  # the part tenants can lease (above ground)
FREE_AREA: Final = "free_area_m2"  # lettable area free on FREE_ON
FREE_ON: Final = "free_on"  # the day the free area was counted
COMPLETED_ON: Final = "completed_on"
CHAINS: Final = "chains"  # chain ids it is meant for, ";"-separated; empty = any
TRACKS: Final = "tracks"  # recruitment tracks it serves, ";"-separated; empty = any
RENT_LOW: Final = "rent_low_cny_m2_day"
RENT_HIGH: Final = "rent_high_cny_m2_day"

# building_supply: dated additions of free area (a completion, a new phase, a floor refitted)
AVAILABLE_ON: Final = "available_on"
AREA: Final = "area_m2"
SUPPLY_REASON: Final = "reason"

# building_tenants: which firm leases how much of which building, since when (until: moved out)
SINCE: Final = "since"
UNTIL: Final = "until"

BUILDING_KINDS: Final = ("office", "rd", "incubator", "themed_park", "mixed")
SUPPLY_REASONS: Final = ("completion", "new_phase", "refit", "other")
UNIT_KINDS: Final = ("office", "rd", "lab")
