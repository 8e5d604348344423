"""Request and response models of the API (pydantic)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from data.columns import OUTCOMES
from data.credit_code import credit_code_error
from data.pipeline import LOST_REASONS, ROLES, STAGES

# a track id of the served park's YAML; which ids exist is checked against the park (422)
Track = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]


@dataclass(frozen=True)
class OneOf:
    """Metadata of a text field that must be one of ``values`` (a vocabulary defined elsewhere,
    e.g. ``data.pipeline``): listed as an enum in the OpenAPI schema, anything else a 422 naming
    the allowed values."""

    values: tuple[str, ...]

    def _check(self, value: str) -> str:
        if value not in self.values:
            raise ValueError(f"must be one of {', '.join(self.values)} (got {value!r})")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["enum"] = list(self.values)
        return out


Outcome = Annotated[str, OneOf(OUTCOMES)]
Stage = Annotated[str, OneOf(STAGES)]
LostReason = Annotated[str, OneOf(LOST_REASONS)]
Role = Annotated[str, OneOf(ROLES)]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class HealthPublic(_Out):
    status: Literal["ok"] = "ok"


class ReadyPublic(_Out):
    ready: bool
    components: dict[str, str]
    loaded_at: str
    last_reload_error: str | None = Field(
        default=None, description="why the last reload was refused (the previous state serves)"
    )


class ReasonPublic(_Out):
    kind: str = Field(description="gap, synergy or a model factor (feature name)")
    text_zh: str
    text_en: str
    effect: str | None = None


class LinkEvidencePublic(_Out):
    """A chain link of a firm and how it was found (products, business scope or industry code)."""

    link_id: str
    share: float
    evidence_kind: str | None
    evidence: str | None
    confidence: float | None
    text_zh: str
    text_en: str


class LeadPublic(_Out):
    rank: int = Field(description="position in this filtered list (1 = best)")
    overall_rank: int = Field(description="position among all candidates of the track")
    enterprise_id: str
    name: str
    province: str | None
    city: str | None
    industry_code: str | None
    links: list[str]
    score: float = Field(
        description="expected value of approaching the firm, 万元: p_land × value_wan_cny"
    )
    p_land: float
    p_land_source: str
    tax_p10_wan_cny: float = Field(description="tax the park would collect a year, P10, 万元")
    tax_p50_wan_cny: float = Field(
        description="tax the park would collect a year, P50, 万元: the group's tax × the share "
        "its landing form books here"
    )
    tax_p90_wan_cny: float = Field(description="tax the park would collect a year, P90, 万元")
    group_tax_p50_wan_cny: float = Field(description="the whole group's tax a year, P50, 万元")
    gap_value: float = Field(description="gap-filling value, 0–1 (Σ link share × gap score)")
    chain_value_wan_cny: float = Field(
        description="what the gaps it fills are worth to the park a year, 万元 (park YAML)"
    )
    landing_form: str = Field(
        description="the form it is valued in (park YAML tracks.*.forms: regional_hq, branch …); "
        "the first reason says why"
    )
    in_park_tax_share: float = Field(
        description="share of the group's tax its unit would book here (P50; site-bound "
        "industries at most the YAML's site_bound share)"
    )
    in_park_tax_share_p10: float = Field(
        description="the share's P10: its form's band, with the chance that the firm lands in "
        "another of the track's forms (tracks.*.assumed_form_holds)"
    )
    in_park_tax_share_p90: float = Field(description="the share's P90 (as its P10)")
    value_wan_cny: float = Field(
        description="value if it lands: horizon × (the park's tax P50 + chain value), "
        "weighted per track"
    )
    reasons: list[ReasonPublic]
    model_version: str
    snapshot_id: str
    plan_value_wan_cny: float | None = Field(
        default=None,
        description="Σ price × the firms it counts for toward each plan target, 万元 (the "
        "contact plan's prices at the park YAML's capacity; None until that plan is solved)",
    )
    plan_score_wan_cny: float | None = Field(
        default=None,
        description="the score the lists rank by once the contact plan is solved: P(land) × "
        "(value + plan value), the plan's prices in place of the hand-set chain worth when it "
        "prices chain links (None before)",
    )


class LeadsPublic(_Out):
    items: list[LeadPublic]
    total: int
    limit: int
    offset: int
    model_version: str
    snapshot_id: str


class LinkCandidatePublic(LeadPublic):
    link_evidence: LinkEvidencePublic | None = Field(
        description="how the firm was found to work in the link (products, scope or code)"
    )


class LinkCandidatesPublic(LeadsPublic):
    items: list[LinkCandidatePublic]  # type: ignore[assignment]


class TrackScorePublic(_Out):
    track: Track
    eligible: bool
    overall_rank: int | None
    score: float
    p_land: float
    tax_p10_wan_cny: float
    tax_p50_wan_cny: float
    tax_p90_wan_cny: float
    group_tax_p50_wan_cny: float
    gap_value: float
    chain_value_wan_cny: float
    landing_form: str
    in_park_tax_share: float
    value_wan_cny: float
    reasons: list[ReasonPublic]


class TrackStandingPublic(_Out):
    """A firm in one track: its lead scores when it is a candidate (``eligible``), else no
    scores and the reason it is not a lead."""

    track: Track
    eligible: bool
    overall_rank: int | None
    score: float | None
    p_land: float | None
    tax_p10_wan_cny: float | None
    tax_p50_wan_cny: float | None
    tax_p90_wan_cny: float | None
    group_tax_p50_wan_cny: float | None
    gap_value: float | None
    chain_value_wan_cny: float | None
    landing_form: str | None
    in_park_tax_share: float | None
    value_wan_cny: float | None
    not_offered: str | None = Field(
        default=None,
        description="why the lead lists leave this candidate out (signed, open_in_pipeline, "
        "declined_recently …), or null when they offer it",
    )
    reasons: list[ReasonPublic]
    plan_value_wan_cny: float | None = Field(
        default=None,
        description="Σ price × the firms it counts for toward each plan target, 万元 (None: not "
        "a candidate, or the plan at the YAML's capacity not solved yet)",
    )
    plan_score_wan_cny: float | None = Field(
        default=None,
        description="the score the lists rank by once the contact plan is solved: P(land) × "
        "(value + plan value), the plan's prices in place of the hand-set chain worth when it "
        "prices chain links (None before)",
    )


class SynergyPathPublic(_Out):
    direction: Literal["supplies", "buys_from"]
    park_firm: str
    path_zh: str
    path_en: str


class OutreachPublic(_Out):
    outreach_id: str
    enterprise_id: str
    park_id: str
    track: Track
    campaign: str | None
    contacted_on: date
    outcome: Outcome
    closed_on: date | None
    officer: str | None
    note: str | None
    source: Literal["history", "service"]


class EnterprisePublic(_Out):
    enterprise_id: str
    name: str
    profile: dict[str, str | float | int | bool | None]
    in_park: bool
    links: list[str]
    link_evidence: list[LinkEvidencePublic]
    scores: list[TrackStandingPublic]
    park_neighbours: list[SynergyPathPublic]
    outreach: list[OutreachPublic]
    model_version: str
    snapshot_id: str
    space: LeadSpacePublic | None = Field(
        default=None, description="a lead's space need and best-fitting buildings"
    )


class LinkShareIn(_In):
    link_id: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
    share: float = Field(gt=0, le=1)


class FirmIn(_In):
    """A firm in the contract's form (what-if lead); only ``name`` is required."""

    name: str = Field(min_length=1, max_length=200)
    enterprise_id: str | None = Field(default=None, max_length=64)
    credit_code: str | None = Field(
        default=None,
        pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$",
        description="GB 32100-2015, check character verified",
    )
    province: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=20)
    district: str | None = Field(default=None, max_length=20)
    founded_on: date | None = None
    registered_capital_wan_cny: float | None = Field(default=None, ge=0, le=1e9)
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    revenue_wan_cny: float | None = Field(default=None, ge=0, le=1e10)
    revenue_growth: float | None = Field(default=None, ge=-1, le=100)
    net_margin: float | None = Field(default=None, ge=-100, le=1)
    ownership: Literal["central_soe", "local_soe", "private", "foreign", "joint_venture"] | None = (
        None
    )
    hq_type: Literal["none", "mnc_regional_hq", "national_hq", "regional_hq"] | None = None
    is_listed: bool | None = None
    is_high_tech: bool | None = None
    patents: int | None = Field(default=None, ge=0, le=10_000_000)
    last_funding_on: date | None = None
    industry_code: str | None = Field(default=None, max_length=10)
    industry_scheme: Literal["gbt4754_2017", "sw2021"] | None = None
    business_scope: str | None = Field(
        default=None,
        max_length=5000,
        description="经营范围: attaches the firm to chain links when `links` is not given",
    )
    links: list[LinkShareIn] | None = Field(default=None, max_length=20)

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str | None) -> str | None:
        if value is not None:
            error = credit_code_error(value)
            if error is not None:
                raise ValueError(f"invalid credit code: {error}")
        return value

    @field_validator("links")
    @classmethod
    def _shares(cls, value: list[LinkShareIn] | None) -> list[LinkShareIn] | None:
        if value is not None and sum(link.share for link in value) > 1 + 1e-9:
            raise ValueError("link shares must sum to at most 1")
        return value


class ScoreRequest(_In):
    firms: list[FirmIn] = Field(min_length=1, max_length=1000)
    track: Track | None = Field(default=None, description="score one track; both when omitted")
    landing_form: str | None = Field(
        default=None,
        max_length=32,
        description="value the firms in this landing form of ``track`` (park YAML "
        "tracks.*.forms) instead of the one the park's rules assume; 422 for a form the "
        "track does not recruit",
    )


class ScoredFirmPublic(_Out):
    index: int
    name: str
    enterprise_id: str | None
    scores: list[TrackScorePublic]


class ScoresPublic(_Out):
    items: list[ScoredFirmPublic]
    model_version: str
    snapshot_id: str


class ChainSummaryPublic(_Out):
    id: str
    name_zh: str
    name_en: str
    links: int
    priority: int | None


class ChainsPublic(_Out):
    items: list[ChainSummaryPublic]


class LinkGapPublic(_Out):
    link_id: str
    name_zh: str
    name_en: str
    segment: str
    upstream: list[str]
    firms: float
    revenue_wan_cny: float
    target: float
    coverage: float
    gap_type: str
    score: float
    reason_zh: str
    reason_en: str


class SegmentPublic(_Out):
    id: str
    name_zh: str
    name_en: str


class ChainMapPublic(_Out):
    id: str
    name_zh: str
    name_en: str
    park: str
    park_firms: int
    segments: list[SegmentPublic]
    links: list[LinkGapPublic]


class GapsPublic(_Out):
    park: str
    chain: str
    links: list[LinkGapPublic]


class OutreachIn(_In):
    enterprise_id: str = Field(min_length=1, max_length=64)
    track: Track
    outcome: Outcome
    contacted_on: date
    closed_on: date | None = None
    campaign: str | None = Field(default=None, max_length=200)
    officer: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class OutreachListPublic(_Out):
    items: list[OutreachPublic]
    total: int
    limit: int
    offset: int


class ModelPublic(_Out):
    park: str
    model_name: str
    version: str
    alias: str
    run_id: str
    p_land_source: str
    metrics: dict[str, float]
    snapshot_id: str
    loaded_at: str


class ReloadPublic(_Out):
    ready: bool
    components: dict[str, str]
    model_version: str | None
    load_seconds: float


class SimilarIn(_In):
    """A set of firms to find lookalikes of: the roster, the signed firms, a list picked."""

    ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=1000, description="enterprise ids, at most 1,000"
    )
    k: int = Field(default=10, ge=1, le=100)
    include_members: bool = Field(default=False, description="also list the park's own firms")


class FirmRefPublic(_Out):
    enterprise_id: str
    name: str


class SimilarFirmPublic(_Out):
    rank: int
    enterprise_id: str
    name: str
    province: str | None
    city: str | None
    industry_code: str | None
    revenue_wan_cny: float | None
    in_park: bool
    similarity: float = Field(description="cosine of the lookalike vectors, 0–1")
    like: FirmRefPublic = Field(description="the query firm it resembles most")
    reasons: list[ReasonPublic]


class SimilarPublic(_Out):
    query: list[FirmRefPublic]
    k: int
    include_members: bool
    items: list[SimilarFirmPublic]
    snapshot_id: str


Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{2,39}$")]


class PipelineIn(_In):
    enterprise_id: str = Field(min_length=1, max_length=64)
    track: Track
    owner: Username | None = Field(default=None, description="an officer's username")
    follow_up_on: date | None = None
    note: str | None = Field(default=None, max_length=2000)


class PipelinePatch(_In):
    """A change of one lead; fields left out stay as they are, ``null`` clears one."""

    version: int = Field(
        ge=1, le=2_147_483_647, description="the version you read: a stale one is a 409"
    )
    stage: Stage | None = None
    lost_reason: LostReason | None = Field(default=None, description="required with stage lost")
    owner: Username | None = Field(default=None, description="null unassigns")
    follow_up_on: date | None = None
    note: str | None = Field(default=None, max_length=2000)
    landed_as: str | None = Field(
        default=None,
        max_length=32,
        description="the form the firm landed in (one of its track's landing forms, "
        "GET /api/v1/model lists them), recorded at stage landed or paying; null clears it",
    )


class CreatedWithPublic(_Out):
    p_land: float | None
    tax_p10_wan_cny: float | None
    tax_p50_wan_cny: float | None
    tax_p90_wan_cny: float | None
    model_version: str | None
    landing_form: str | None = Field(
        default=None, description="the form it was valued in when it entered the pipeline"
    )


class PipelineLeadPublic(_Out):
    id: int
    enterprise_id: str
    name: str
    track: str
    stage: Stage
    stage_zh: str
    lost_reason: LostReason | None
    owner: str | None
    follow_up_on: date | None
    overdue: bool
    due: bool
    note: str | None
    version: int
    created_at: str
    updated_at: str
    stage_since: str
    stage_age_days: int
    contacted_on: date | None
    closed_on: date | None
    p_land: float | None = Field(
        description="P(land) at this stage and time in it (the stage model on the entry "
        "P(land) in created_with)"
    )
    value_wan_cny: float | None
    expected_value_wan_cny: float | None = Field(description="p_land × value_wan_cny")
    created_with: CreatedWithPublic
    landed_as: str | None = Field(
        default=None, description="the form it landed in, as its officer recorded it"
    )


class PipelineListPublic(_Out):
    items: list[PipelineLeadPublic]
    total: int
    limit: int
    offset: int


class PipelineEventPublic(_Out):
    id: int
    at: str
    user: str | None
    field: str
    from_: str | None = Field(alias="from")
    to: str | None
    version: int
    outreach_id: str | None


class UserIn(_In):
    username: Username
    role: Role
    password: str = Field(min_length=10, max_length=200)
    display_name: str = Field(default="", max_length=100)


class UserPatch(_In):
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)
    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=100)


class UserPublic(_Out):
    id: int
    username: str
    display_name: str
    role: Role
    disabled: bool
    can_sign_in: bool
    locked_until: str | None
    created_at: str


class KpiPointPublic(_Out):
    year: int
    value: float


class KpiMoverPublic(_Out):
    lead_id: int
    enterprise_id: str
    name: str
    track: str
    stage: str
    p_land: float
    adds: float = Field(
        description="what the lead adds to the projection: P(land) × its contribution"
    )


class KpiPublic(_Out):
    id: str
    name_zh: str
    name_en: str
    unit: str
    target_low: float
    target_high: float
    target_year: int
    status: Literal["met", "reachable", "behind", "not_held", "no_data"]
    not_held: str | None = Field(description="why the service cannot measure it (then no figures)")
    baseline: float | None = Field(description="the plan's baseline figure, or measured at its end")
    baseline_source: Literal["plan", "data"] | None
    now: float | None
    now_year: int | None
    projected: float | None = Field(description="if the open pipeline lands at its P(land)")
    level_unit: str | None = Field(description="growth KPIs: the unit of the level grown")
    level_baseline: float | None
    level_now: float | None
    level_projected: float | None
    series: list[KpiPointPublic]
    movers: list[KpiMoverPublic] = Field(description="open leads adding most to the projection")


class KpisPublic(_Out):
    park: str
    baseline_year: int
    as_of: date
    kpis: list[KpiPublic]


class LinkCoveragePublic(_Out):
    chain_id: str
    link_id: str
    name_zh: str
    name_en: str
    target: float
    firms_baseline: float
    coverage_baseline: float
    gap_type_baseline: str
    firms_now: float
    coverage_now: float
    gap_type_now: str
    closed: bool = Field(description="absent at the baseline, present now")
    joined: list[str] = Field(description="firms in the link that entered after the baseline")


class CoveragePublic(_Out):
    park: str
    baseline_year: int
    links: list[LinkCoveragePublic]


class RealisedGroupPublic(_Out):
    model_version: str
    track: str
    landed: int
    coverage: float = Field(description="share of landed firms whose tax fell in P10–P90")
    within_x2: float
    median_ratio: float | None


class RealisedFirmPublic(_Out):
    enterprise_id: str
    name: str | None
    track: str
    landed_on: date
    model_version: str
    tax_p10_wan_cny: float
    tax_p50_wan_cny: float
    tax_p90_wan_cny: float
    realised_year: int
    realised_tax: float
    in_band: bool
    within_x2: bool


class RealisedPublic(_Out):
    park: str
    landed: int = Field(description="landed firms in all")
    measured: int = Field(description="landed firms with a tax record after their landing year")
    coverage_warning_below: float
    groups: list[RealisedGroupPublic]
    firms: list[RealisedFirmPublic]
    warnings: list[str]


class PlanTargetPublic(_Out):
    id: str = Field(description="a KPI id or a chain link id")
    kind: str = Field(description="kpi or link")
    name_zh: str
    name_en: str
    target: float
    expected_now: float = Field(description="now plus the open pipeline's expected firms")
    shortfall: float = Field(description="expected firms still missing (≥ 0)")
    expected_plan: float = Field(description="expected firms the plan's lists add")
    expected_value_only: float = Field(description="the same for the value-only list")
    attainment_plan: float
    attainment_value_only: float
    price_wan_cny: float = Field(description="what one more firm toward it is worth (the dual)")
    status: str = Field(description="met, short or unreachable")
    capacity_to_reach: int | None = Field(
        description="contacts a quarter per track that would reach it alone (None: no capacity)"
    )
    tax_given_up_wan_cny: float | None = Field(
        description="the plan's tax without this target minus with it (None: not computed)"
    )
    candidates_counting: int = Field(description="candidates that would count for it")


class PlanReasonPublic(_Out):
    kind: str
    target: str
    text_zh: str
    text_en: str


class PlanLeadPublic(_Out):
    rank: int
    enterprise_id: str
    name: str
    p_land: float
    tax_wan_cny: float = Field(description="in-park tax P50 a year if it lands")
    expected_tax_wan_cny: float
    plan_value_wan_cny: float = Field(description="Σ price × the firms it counts for")
    targets: list[str]
    reasons: list[PlanReasonPublic]


class PlanTaxPublic(_Out):
    plan_wan_cny: float = Field(description="expected in-park tax over the horizon, the lists")
    value_only_wan_cny: float
    given_up_vs_value_only_wan_cny: float
    relaxation_wan_cny: float
    tax_only_wan_cny: float = Field(description="the relaxation's optimum without targets")
    given_up_wan_cny: float


class PlanSpacePublic(_Out):
    quarters: list[str]
    free_m2: list[float] = Field(
        description="free floor each quarter leaves to new landings (the park's free lettable "
        "area less the open pipeline's expected units)"
    )
    plan_m2: list[float] = Field(description="floor the plan's expected landings hold")
    value_only_m2: list[float] | None = Field(description="the same for the value-only list")
    price_wan_cny_per_m2: list[float] = Field(
        description="expected tax one more m² free that quarter would bring (0: not binding)"
    )
    bounding_quarters: int = Field(description="quarters in which the free floor limits the plan")


class PlanPublic(_Out):
    park: str
    as_of: str
    first_quarter: str
    horizon_quarters: int
    max_quarters: int
    quarters_to_land: int
    capacity: dict[str, int]
    penalty_wan_cny: float
    penalty_firm_years: float | None = Field(
        default=None,
        description="the penalty in years of the in-park tax of the median firm the value-only "
        "lists contact (null: the YAML gives it in 万元)",
    )
    candidates: int
    candidates_cut: int
    candidates_solved: int
    rounds: int
    solve_seconds: float
    tax: PlanTaxPublic
    targets: list[PlanTargetPublic]
    lists: dict[str, list[PlanLeadPublic]] = Field(description="the first quarter's list per track")
    space: PlanSpacePublic | None = Field(
        default=None, description="the free floor the plan respects (null: no buildings)"
    )


class BuildingPublic(_Out):
    building_id: str
    name: str
    carrier: str | None
    kind: str
    kind_zh: str
    kind_en: str
    floor_area_m2: float
    lettable_area_m2: float
    occupied_m2: float
    free_now_m2: float
    occupancy_now: float | None = Field(description="share of the area there to let that is let")
    free_in_a_year_m2: float
    tax_baseline_wan_cny: float | None = Field(description="its firms' tax in the baseline year")
    tax_now_wan_cny: float | None = Field(description="its firms' tax in the latest tax year")
    over_baseline: bool | None = Field(description="亿元楼 in the baseline year")
    over_now: bool | None = Field(description="亿元楼 in the latest tax year")
    p_over_projected: float | None = Field(
        description="chance of paying ≥ the threshold with the open pipeline placed in it"
    )
    chains: list[str]
    tracks: list[str]
    rent_low_cny_m2_day: float | None
    rent_high_cny_m2_day: float | None


class BuildingsPublic(_Out):
    park: str
    as_of: date
    threshold_wan_cny: float
    baseline_year: int
    latest_year: int | None
    count_baseline: int = Field(description="亿元楼 in the baseline year")
    count_now: int = Field(description="亿元楼 in the latest tax year")
    expected_count_projected: float = Field(description="with the open pipeline placed")
    buildings: list[BuildingPublic]


class OccupancyPointPublic(_Out):
    quarter: str
    occupancy: float | None
    occupied_m2: float
    free_m2: float


class BuildingTaxPublic(_Out):
    year: int
    tax_wan_cny: float


class TenantPublic(_Out):
    enterprise_id: str
    name: str | None
    area_m2: float
    since: date


class BuildingLeadPublic(_Out):
    enterprise_id: str
    name: str
    track: str
    stage: str | None = None
    p_land: float
    value_wan_cny: float | None = None
    in_park_tax_p50_wan_cny: float
    unit_kind: str | None = None
    need_m2_p50: float | None = None
    land_quarter: str | None = None
    fit: float | None = None
    fills_share: float | None = None
    tax_if_lands_wan_cny: float | None = None
    crosses_alone: bool | None = None
    expected_progress_wan_cny: float | None = None
    reason_zh: str | None = None
    reason_en: str | None = None


class BuildingDetailPublic(_Out):
    building: BuildingPublic
    threshold_wan_cny: float
    occupancy: list[OccupancyPointPublic]
    tax_by_year: list[BuildingTaxPublic]
    tenants: list[TenantPublic]
    leads: list[BuildingLeadPublic] = Field(description="leads it would take, by expected value")
    placed: list[BuildingLeadPublic] = Field(description="open pipeline leads placed in it")
    closest: list[BuildingLeadPublic] = Field(
        description="the leads that would bring it closest to the 亿元楼 threshold"
    )


class BuildingFitPublic(_Out):
    building_id: str
    name: str
    fit: float
    takes: bool
    free_m2: float
    reason_zh: str
    reason_en: str


class LeadSpacePublic(_Out):
    unit_kind: str
    unit_source: str
    unit_staff_p10: float
    unit_staff_p50: float
    unit_staff_p90: float
    need_m2_p10: float
    need_m2_p50: float
    need_m2_p90: float
    land_quarter: str
    buildings: list[BuildingFitPublic] = Field(description="best-fitting buildings, best first")


# --- chain-link corrections (产业链校核) ---------------------------------------------------
# an action of data.corrections, or ``set``: the firm's links in the park's chains become
# exactly ``links`` (stored as an ``outside`` and a ``confirm`` per link)
CorrectionActionIn = Literal["confirm", "move", "remove", "outside", "restore", "set"]
LinkId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$", max_length=80)]


class CorrectionIn(_In):
    """One strategist's decision about one firm's links in the served park."""

    enterprise_id: str = Field(min_length=1, max_length=64)
    action: CorrectionActionIn
    link_id: LinkId | None = Field(
        default=None, description="the link confirmed, moved from or removed"
    )
    to_link_id: LinkId | None = Field(default=None, description="a move's target link")
    links: list[LinkId] | None = Field(
        default=None, max_length=10, description="set: the firm's links in the park's chains"
    )
    note: str = Field(default="", max_length=2000)


class CorrectionPublic(_Out):
    id: int
    park_id: str
    enterprise_id: str
    action: str
    link_id: str | None
    to_link_id: str | None
    note: str
    corrected_by: str
    corrected_at: Any
    from_links: str
    to_links: str
    source: str


class CorrectionsPublic(_Out):
    total: int
    items: list[CorrectionPublic]


class CorrectionsMadePublic(_Out):
    stored: list[CorrectionPublic]
    takes_effect: str = Field(description="when the served lists, gaps and KPIs show it")


class ReviewItemPublic(_Out):
    rank: int
    enterprise_id: str
    name: str
    situation: str
    p_wrong: float
    firm_confidence: float
    links: list[dict[str, Any]]
    lead_value_wan_cny: float
    gap_stake: float
    gap_stake_wan_cny: float
    stake_wan_cny: float
    priority_wan_cny: float
    reasons_zh: list[str]
    reasons_en: list[str]


class ReviewPublic(_Out):
    total: int
    offset: int
    limit: int
    items: list[ReviewItemPublic]
    rates: dict[str, dict[str, float]]


class SuggestionPublic(_Out):
    kind: str
    link_id: str
    word: str
    file: str
    describe: str
    firms_changed: int
    fixes: int
    breaks: int
    gain: float
    fixed_firms: list[str]
    broken_firms: list[str]
    changed_firms: list[str]


class SuggestionsPublic(_Out):
    total: int
    items: list[SuggestionPublic]


class CorrectionRejectPublic(_Out):
    row: int
    column: str
    value: Any
    reason: str


class CorrectionsImportPublic(_Out):
    rows: int
    stored: int
    rejected_rows: int
    rejects: list[CorrectionRejectPublic]


class InputErrorPublic(_Out):
    """One refused input, in the shape of FastAPI's own 422: where (``["body", field]``), why."""

    loc: list[str | int]
    msg: str
    type: str


class InputErrorsPublic(_Out):
    """A 422 that is not a per-row report: a body that is not a CSV at all, or too large."""

    detail: list[InputErrorPublic]
