"""Reference files the project writes itself: curated chains, park profiles, industries, regions.

Loading validates everything a later layer relies on; a bad file raises ``ReferenceDataError``
naming the file and the offending entry (an unknown upstream link, a cycle, an unknown code).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from graphlib import CycleError, TopologicalSorter
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from data.columns import BUILDING_KINDS, UNIT_KINDS
from data.pipeline import OPEN_STAGES

PACKAGE_ROOT = Path(str(resources.files("data")))
CHAINS_DIR = PACKAGE_ROOT / "chains"
PARKS_DIR = PACKAGE_ROOT / "parks"
REFERENCE_DIR = PACKAGE_ROOT / "reference"
VOCABULARY_DIR = PACKAGE_ROOT / "vocabulary"

Ownership = Literal["central_soe", "local_soe", "private", "foreign", "joint_venture"]
HqType = Literal["none", "mnc_regional_hq", "national_hq", "regional_hq"]


class ReferenceDataError(ValueError):
    """A reference file is invalid; the message names the file and the entry."""


class _Frozen(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


class Segment(_Frozen):
    """A segment of a chain (e.g. 资源层) grouping links."""

    id: str
    name_zh: str
    name_en: str


class Link(_Frozen):
    """A link (环节) of a chain; ``upstream`` holds full link ids once the chain is loaded."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")
    segment: str
    name_zh: str
    name_en: str
    weight: float = Field(gt=0, le=5)
    upstream: tuple[str, ...] = ()
    gbt4754: tuple[str, ...] = ()
    sw2021: tuple[str, ...] = ()


class Chain(_Frozen):
    """A curated industry chain: segments and links with their upstream relations and codes."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    segments: tuple[Segment, ...]
    links: tuple[Link, ...]

    def link(self, link_id: str) -> Link:
        """The link with full id ``link_id``."""
        for link in self.links:
            if link.id == link_id:
                return link
        raise KeyError(link_id)


class Industry(_Frozen):
    """An industry class of GB/T 4754-2017 or Shenwan-2021 that the project refers to."""

    code: str
    name: str
    scheme: Literal["gbt4754_2017", "sw2021"]
    tax_rate: float | None = None
    share: float | None = None


class Rule(_Frozen):
    """One eligibility condition; all fields given must hold (``industry_codes``: the firm's
    industry code starts with one of the prefixes of its scheme)."""

    min_revenue_wan_cny: float | None = None
    hq_types: tuple[HqType, ...] | None = None
    ownerships: tuple[Ownership, ...] | None = None
    chains: tuple[str, ...] | None = None
    is_high_tech: bool | None = None
    industry_codes: Mapping[Literal["gbt4754_2017", "sw2021"], tuple[str, ...]] | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Rule:
        # a rule without a condition holds for every firm: in none_of it would empty the track
        if all(v is None for v in self.model_dump().values()):
            raise ValueError("a rule needs at least one condition")
        if self.industry_codes is not None and not any(self.industry_codes.values()):
            raise ValueError("industry_codes: needs at least one code prefix")
        return self


class Eligibility(_Frozen):
    """A firm is eligible when every ``all_of`` rule holds, if given one ``any_of`` rule, and no
    ``none_of`` rule (an industry the track does not recruit, whatever its size)."""

    all_of: tuple[Rule, ...] = ()
    any_of: tuple[Rule, ...] = ()
    none_of: tuple[Rule, ...] = ()


class ValueWeights(_Frozen):
    """How a track weighs the two parts of a lead's value (1 and 1 = the value as it is)."""

    tax: float = Field(default=1.0, ge=0)
    chain: float = Field(default=1.0, ge=0)


class ChainWorth(_Frozen):
    """What filling one link of a priority-1 chain, of full weight, is worth to the park per year
    (万元), by gap type; a weak link's worth falls with its coverage (× (1 − coverage))."""

    missing_broken: float = Field(gt=0)
    missing: float = Field(gt=0)
    extension: float = Field(gt=0)
    weak: float = Field(gt=0)

    @model_validator(mode="after")
    def _weak_is_least(self) -> ChainWorth:
        if self.weak > min(self.missing_broken, self.missing, self.extension):
            raise ValueError(
                "weak must not exceed missing_broken, missing or extension "
                "(a present link is never worth more than an absent one)"
            )
        return self


class InParkTaxShare(_Frozen):
    """The share of a firm's predicted tax the park would collect if the firm landed: ``default``,
    and ``site_bound`` for industries whose tax is paid where the plant, mine, project or power
    station stands (``site_bound_codes``: industry-code prefixes per scheme)."""

    default: float = Field(ge=0, le=1)
    site_bound: float = Field(ge=0, le=1)
    site_bound_codes: Mapping[Literal["gbt4754_2017", "sw2021"], tuple[str, ...]]

    def of(self, codes: pd.Series, schemes: pd.Series) -> np.ndarray:
        """The share for each firm (industry code and its scheme; unknown → ``default``)."""
        out = np.full(len(codes), self.default, dtype=float)
        text = codes.astype("string").fillna("")
        for scheme, prefixes in self.site_bound_codes.items():
            hit = (schemes == scheme).fillna(False).to_numpy(dtype=bool) & text.str.startswith(
                tuple(prefixes)
            ).fillna(False).to_numpy(dtype=bool)
            out[hit] = self.site_bound
        return out


class Valuation(_Frozen):
    """What a lead is worth if it lands: ``horizon_years`` × (in-park share × tax P50 + chain
    value), in 万元."""

    horizon_years: float = Field(gt=0, le=30)
    chain_worth_wan_cny: ChainWorth
    # without it the park collects all of a firm's tax
    in_park_tax_share: InParkTaxShare = InParkTaxShare(
        default=1.0, site_bound=1.0, site_bound_codes={}
    )


class Factor(_Frozen):
    """A hand-set factor of P(land) without outreach history: log-odds per unit of a feature,
    with the reason the park gives for it."""

    weight: float = Field(ge=-5, le=5)
    why: str = Field(min_length=1)


class LandingPrior(_Frozen):
    """P(land) without outreach history: the mean over candidates (``base_rate``) and the
    hand-set factors (feature name → ``Factor``); the roster fit's weight is measured, not set."""

    base_rate: float = Field(gt=0, lt=1)
    factors: Mapping[str, Factor] = Field(default_factory=dict)


class ShareBand(_Frozen):
    """The share of the group's tax a landed unit books here: P10 / P50 / P90 of a log-normal
    prior (each in (0, 1], ordered)."""

    p10: float = Field(gt=0, le=1)
    p50: float = Field(gt=0, le=1)
    p90: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> ShareBand:
        if not self.p10 <= self.p50 <= self.p90:
            raise ValueError(f"p10 ≤ p50 ≤ p90 (got {self.p10}, {self.p50}, {self.p90})")
        return self


class LandingForm(_Frozen):
    """A form in which a firm lands in the park (a regional HQ, a branch, an R&D centre …): its
    labels, the share of the group's tax it brings (a prior with its band) and why."""

    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    share: ShareBand
    why_zh: str = Field(min_length=1)
    why_en: str = Field(min_length=1)


class FormWhen(_Frozen):
    """When a form rule applies: every condition given must hold (none given = always).
    ``in_park_province``: registered in the park's province; ``based_in_park_province``: registered
    there or with its office there (``office_province``, where the data holds it: a group
    registered in Tianjin that runs from Shanghai is based in Shanghai); ``industry_codes``: industry-code
    prefixes per scheme; ``site_bound``: the industry pays where it produces
    (``valuation.in_park_tax_share.site_bound_codes``)."""

    min_revenue_wan_cny: float | None = Field(default=None, ge=0)
    max_revenue_wan_cny: float | None = Field(default=None, gt=0)
    hq_types: tuple[HqType, ...] | None = None
    is_listed: bool | None = None
    in_park_province: bool | None = None
    based_in_park_province: bool | None = None
    industry_codes: Mapping[Literal["gbt4754_2017", "sw2021"], tuple[str, ...]] | None = None
    site_bound: bool | None = None

    @property
    def always(self) -> bool:
        """No condition given."""
        return all(v is None for v in self.model_dump().values())


class FormRule(_Frozen):
    """Assume ``form`` for a firm when ``when`` holds (the first rule that holds wins)."""

    form: str
    when: FormWhen = FormWhen()


class Track(_Frozen):
    """A recruitment track of a park (``hq`` or ``bigdata``): its chains, eligibility, value
    weights, and the forms it recruits (``forms``) with the rules that assume one per firm
    (``assume``: first match wins, the last rule holds always) and how often the assumed form is
    the one a firm lands in (``assumed_form_holds``: the lead's band holds the other forms'
    shares as often, ``data.landing.mixed_shares``)."""

    name_zh: str
    name_en: str
    chains: tuple[str, ...] = ()
    eligibility: Eligibility
    weights: ValueWeights = ValueWeights()
    forms: Mapping[str, LandingForm] = Field(default_factory=dict)
    assume: tuple[FormRule, ...] = ()
    # the probability that a firm lands in the form the rules assume (the rest: each other form
    # of the track alike) — a prior that training updates from the forms landed firms took
    assumed_form_holds: float = Field(default=1.0, gt=0, le=1)

    @model_validator(mode="after")
    def _rules_name_forms(self) -> Track:
        for form_id in self.forms:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", form_id):
                raise ValueError(f"forms.{form_id}: a form id is a lower-case word")
        if bool(self.forms) != bool(self.assume):
            raise ValueError(
                "assume: a track with forms gives the rules that assume one (and none without)"
            )
        for i, rule in enumerate(self.assume):
            if rule.form not in self.forms:
                raise ValueError(
                    f"assume.{i}.form: {rule.form!r} is not one of the track's forms "
                    f"({', '.join(self.forms)})"
                )
        if self.assume and not self.assume[-1].when.always:
            raise ValueError(
                f"assume.{len(self.assume) - 1}.when: the last rule holds always (no conditions), "
                "so every firm gets a form"
            )
        return self


class TargetChain(_Frozen):
    """A chain the park targets, with its priority (1 = highest)."""

    id: str
    priority: int = Field(ge=1, le=5)


class Location(_Frozen):
    """Where a park lies."""

    province: str
    city: str
    district: str | None = None
    lat: float
    lon: float


class KpiMeasure(_Frozen):
    """How the service measures a KPI from its tables: ``growth`` — the yearly growth (CAGR, %)
    of the park's total ``tax`` or ``revenue`` (tax records) or of its ``high_tech`` firms;
    ``firms`` — the park's firms matching the filters now; ``new_firms`` — those that entered
    after the plan's baseline year. Filters: headquarters types, chains (a link in any of them),
    high-tech status, industries left out (``not_industry_codes``); none given = every firm."""

    kind: Literal["growth", "firms", "new_firms", "new_buildings_over"]
    of: Literal["tax", "revenue", "high_tech"] | None = None
    hq_types: tuple[HqType, ...] = ()
    chains: tuple[str, ...] = ()
    high_tech: bool | None = None
    # industries the count leaves out, by code prefix per scheme (a broker's fintech links do not
    # make it a big-data firm)
    not_industry_codes: Mapping[Literal["gbt4754_2017", "sw2021"], tuple[str, ...]] = Field(
        default_factory=dict
    )
    # new_buildings_over: the park's buildings whose firms pay at least this much tax a year (the
    # 亿元楼 of the plan: 10,000 万元), net of the baseline year's count (industry_graph.space)
    min_tax_wan_cny: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _growth_names_its_level(self) -> KpiMeasure:
        if (self.kind == "growth") != (self.of is not None):
            raise ValueError(
                "of: a growth measure names its level (tax, revenue, high_tech); a count does not"
            )
        if (self.kind == "new_buildings_over") != (self.min_tax_wan_cny is not None):
            raise ValueError(
                "min_tax_wan_cny: a new_buildings_over measure names its tax threshold; "
                "no other measure takes one"
            )
        return self


class Kpi(_Frozen):
    """A KPI target of the park's plan, how the service measures it (``measure``) or why it
    cannot (``not_held``), and the ``baseline`` entry holding its end-of-baseline figure."""

    id: str
    name_zh: str
    name_en: str
    unit: str
    target: float | tuple[float, float]
    year: int
    measure: KpiMeasure | None = None
    baseline_key: str | None = None
    not_held: str | None = None

    @model_validator(mode="after")
    def _measured_or_explained(self) -> Kpi:
        if (self.measure is None) == (self.not_held is None):
            raise ValueError(
                f"{self.id}: give either a measure or not_held (why the service cannot measure it)"
            )
        return self

    @property
    def target_range(self) -> tuple[float, float]:
        """The target as (low, high); a single figure is both."""
        t = self.target
        return (float(t), float(t)) if isinstance(t, (int, float)) else (float(t[0]), float(t[1]))


class Monitoring(_Frozen):
    """When realised tax of landed firms warns: P10–P90 coverage below ``coverage_warning_below``
    over at least ``min_landed`` firms (of one model version and track)."""

    coverage_warning_below: float = Field(default=0.6, gt=0, lt=1)
    min_landed: int = Field(default=10, ge=1)


class BuildingKind(_Frozen):
    """A kind of carrier (载体): its labels, how officers' sheets write it (``aliases``), how well
    it suits a unit of each kind of work (``hosts``: 0 = not at all … 1 = made for it; a kind
    left out is 0), the largest unit it takes (an incubator's suites), and why."""

    name_zh: str
    name_en: str
    aliases: tuple[str, ...] = ()
    hosts: Mapping[str, float]
    max_unit_m2: float | None = Field(default=None, gt=0)
    why: str = Field(min_length=1)

    @model_validator(mode="after")
    def _fits_are_fractions(self) -> BuildingKind:
        unknown = sorted(set(self.hosts) - set(UNIT_KINDS))
        if unknown:
            raise ValueError(f"hosts: unknown kind(s) of work {unknown}; one of {list(UNIT_KINDS)}")
        for unit, fit in self.hosts.items():
            if not 0.0 <= fit <= 1.0:
                raise ValueError(f"hosts.{unit}: a fit is between 0 and 1 (got {fit})")
        return self


class AreaPerPerson(_Frozen):
    """Leased floor area (m², the let unit's 建筑面积 with its share of common areas) one person
    of a kind of work needs: P10 / P50 / P90 over units, and where the figures come from."""

    p10: float = Field(gt=0)
    p50: float = Field(gt=0)
    p90: float = Field(gt=0)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> AreaPerPerson:
        if not self.p10 <= self.p50 <= self.p90:
            raise ValueError(f"p10 ≤ p50 ≤ p90 (got {self.p10}, {self.p50}, {self.p90})")
        return self


class InterimUnit(_Frozen):
    """The unit a lead would bring while its landing form is not known: staff
    min(employees, ``staff_scale`` × employees ^ ``staff_exponent``) at P50, × ``band`` for P10
    and P90; a lab if its main link is in ``lab_links``, R&D if it is recruited for a chain
    (a track with chains), else an office. The same rule sizes the demo's park firms."""

    staff_scale: float = Field(gt=0)
    staff_exponent: float = Field(gt=0, le=1)
    band: tuple[float, float]
    lab_links: tuple[str, ...] = ()
    why: str = Field(min_length=1)

    @model_validator(mode="after")
    def _band_brackets_one(self) -> InterimUnit:
        low, high = self.band
        if not 0 < low <= 1 <= high:
            raise ValueError(f"band: (P10 factor ≤ 1 ≤ P90 factor), both > 0 (got {self.band})")
        return self

    def staff_p50(self, employees: np.ndarray) -> np.ndarray:
        """P50 staff of the unit of firms with ``employees`` (NaN where unknown; at least 1)."""
        emp = np.asarray(employees, dtype=np.float64)
        staff = np.minimum(
            emp, self.staff_scale * np.power(np.maximum(emp, 0.0), self.staff_exponent)
        )
        return np.where(np.isnan(emp), np.nan, np.maximum(staff, 1.0))


class SpacePlan(_Frozen):
    """The plan's figures about space, which the demo's buildings reproduce."""

    built_last_period_m2: float = Field(gt=0)
    new_development_m2: float = Field(gt=0)
    new_industrial_m2: tuple[float, float]
    staff_in_park: int = Field(gt=0)
    incubated_firms: int = Field(ge=0)
    carriers: tuple[str, ...] = ()


class Space(_Frozen):
    """The park's carriers and what a landing needs of them (``industry_graph.space``): the kinds
    of building, the area per person by kind of work, how many quarters an open lead takes to
    land by stage, what a building meant for other chains is still worth, the interim unit rule,
    and the plan's figures. The buildings themselves are tables (``park_buildings`` …)."""

    kinds: Mapping[str, BuildingKind]
    area_per_person_m2: Mapping[str, AreaPerPerson]
    quarters_to_land: Mapping[str, int]
    other_chain_fit: float = Field(ge=0, le=1)
    interim_unit: InterimUnit
    plan: SpacePlan | None = None

    @model_validator(mode="after")
    def _complete(self) -> Space:
        kinds, units, stages = set(BUILDING_KINDS), set(UNIT_KINDS), set(OPEN_STAGES)
        for name, given, wanted in (
            ("kinds", set(self.kinds), kinds),
            ("area_per_person_m2", set(self.area_per_person_m2), units),
            ("quarters_to_land", set(self.quarters_to_land), stages),
        ):
            if given != wanted:
                raise ValueError(
                    f"{name}: give exactly {sorted(wanted)} (missing {sorted(wanted - given)})"
                )
        for stage, quarters in self.quarters_to_land.items():
            if not 0 <= quarters <= 20:
                raise ValueError(f"quarters_to_land.{stage}: 0 to 20 quarters (got {quarters})")
        return self

    def kind_of(self, text: str) -> str | None:
        """The kind an officer's word names (an id, a label or an alias), or None."""
        word = text.strip()
        for kind_id, kind in self.kinds.items():
            if word in (kind_id, kind.name_zh, kind.name_en, *kind.aliases):
                return kind_id
        return None


class StagePrior(_Frozen):
    """The prior P(land) of a lead at one pipeline stage, with where the figure comes from."""

    p_land: float = Field(gt=0, lt=1)
    why: str = Field(min_length=1)


class StageProbabilities(_Frozen):
    """P(land | stage, days in stage) (``models.stages``): the prior per open stage, what it
    counts for (``pseudo_leads``: leads whose fate is known) and the age bands (days in the
    stage at which a band starts, after the first band from 0)."""

    pseudo_leads: float = Field(gt=0, le=1000)
    age_bands_days: tuple[int, ...] = (30, 90, 180, 365)
    prior: Mapping[str, StagePrior]

    @model_validator(mode="after")
    def _stages_and_bands(self) -> StageProbabilities:
        if set(self.prior) != set(OPEN_STAGES):
            raise ValueError(
                "prior: give each open stage once: "
                f"{', '.join(OPEN_STAGES)} (got {', '.join(self.prior) or 'none'})"
            )
        for before, stage in pairwise(OPEN_STAGES):
            low, high = self.prior[before].p_land, self.prior[stage].p_land
            if high < low:
                raise ValueError(
                    f"prior.{stage}.p_land: {high} is below {before}'s {low}; a lead further "
                    "along is no less likely to land (every landing passes through each stage)"
                )
        bands = self.age_bands_days
        if any(d <= 0 for d in bands) or any(b <= a for a, b in pairwise(bands)):
            raise ValueError(f"age_bands_days: positive and increasing days (got {list(bands)})")
        return self


class LeadExclusions(_Frozen):
    """Which firms a lead list leaves out by default (``models.exclusions``): besides members,
    firms signed, landed, paying or open in the pipeline, a firm that declined within
    ``declined_cooloff_days`` of today."""

    declined_cooloff_days: int = Field(default=365, ge=0, le=3650)


class ContactPlan(_Frozen):
    """How the contact plan (``models.contact_plan``) allocates the team's contacts: contacts
    per quarter per track, quarters from the first contact to landing, the plan's last year
    (the horizon runs from the data's as-of quarter to its end; ``rolling_quarters`` once it
    has passed), the penalty per expected firm a target stays short (万元: what the park would
    give up in tax for one more firm toward any target), the candidates kept per track (best by
    expected value) and, per target id, a floor under its price (万元 per firm)."""

    capacity_per_quarter: Mapping[str, int]
    quarters_to_land: int = Field(ge=0, le=12)
    end_year: int = Field(ge=2000, le=2100)
    rolling_quarters: int = Field(default=8, ge=1, le=40)
    shortfall_penalty_wan_cny: float | None = Field(default=None, gt=0)
    # or, relative to what landings pay: this many years of the in-park tax P50 of the median
    # firm the value-only lists would contact (``models.contact_plan.PlanSettings``)
    shortfall_penalty_firm_years: float | None = Field(default=None, gt=0, le=20)
    candidates_per_track: int = Field(default=3000, ge=10, le=200_000)
    chain_link_targets: bool = True
    price_floor_wan_cny: Mapping[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _positive(self) -> ContactPlan:
        given = (self.shortfall_penalty_wan_cny, self.shortfall_penalty_firm_years)
        if sum(v is not None for v in given) != 1:
            raise ValueError(
                "shortfall_penalty_wan_cny, shortfall_penalty_firm_years: give exactly one "
                "(a penalty in 万元, or in years of a typical contacted firm's in-park tax)"
            )
        for track, n in self.capacity_per_quarter.items():
            if n <= 0:
                raise ValueError(
                    f"capacity_per_quarter.{track}: contacts per quarter must be positive (got {n})"
                )
        for target, floor in self.price_floor_wan_cny.items():
            if floor < 0:
                raise ValueError(f"price_floor_wan_cny.{target}: a floor is ≥ 0 (got {floor})")
        return self


class Park(_Frozen):
    """A park profile: where it is, what it targets, its tracks and its plan's figures."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    location: Location
    area_km2: float = Field(gt=0)
    operating_firms: int = Field(gt=0)
    registered_firms: int | None = None
    chains: tuple[TargetChain, ...]
    link_targets: Mapping[str, float] = Field(default_factory=dict)
    tracks: Mapping[str, Track]  # ids: lower-case words; the first is the default list
    valuation: Valuation
    landing_prior: LandingPrior = LandingPrior(base_rate=0.05)
    baseline: Mapping[str, float] = Field(default_factory=dict)
    baseline_year: int = 2020  # the plan's baseline: the last year of the previous plan
    kpi_targets: tuple[Kpi, ...] = ()
    monitoring: Monitoring = Monitoring()
    space: Space | None = None  # its carriers' kinds and what a landing needs (None: not held)
    stage_probabilities: StageProbabilities | None = None
    lead_exclusions: LeadExclusions = LeadExclusions()
    contact_plan: ContactPlan | None = None  # the contact plan's settings (None: no plan)


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReferenceDataError(f"{path}: cannot read YAML: {exc}") from exc


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], raw: object, path: Path) -> M:
    try:
        return model.model_validate(raw, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReferenceDataError(f"{path}: {where}: {first['msg']}") from exc


@lru_cache(maxsize=1)
def exchange_industries(
    path: Path = REFERENCE_DIR / "exchange_industries.yaml",
) -> dict[str, str]:
    """The exchange's industry names with a clear Shenwan 2021 class (name → code)."""
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ReferenceDataError(f"{path}: expected a mapping of industry name to code string")
    return dict(raw)


@lru_cache(maxsize=4)
def load_industries(
    path: Path = REFERENCE_DIR / "industries.yaml",
) -> dict[tuple[str, str], Industry]:
    """Industries keyed by (scheme, code)."""
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ReferenceDataError(f"{path}: expected a mapping of scheme to entries")
    out: dict[tuple[str, str], Industry] = {}
    for scheme, entries in raw.items():
        for entry in entries:
            industry = _parse(Industry, {**entry, "scheme": scheme}, path)
            out[(scheme, industry.code)] = industry
    return out


def _qualify(chain_id: str, link_id: str) -> str:
    return link_id if "." in link_id else f"{chain_id}.{link_id}"


def chain_of(link_id: str) -> str:
    """The chain of a link id ``<chain>.<link>`` (``big_data.security`` → ``big_data``)."""
    return link_id.split(".", 1)[0]


def chains_of(link_ids: pd.Series) -> pd.Series:
    """``chain_of`` of every link id of a column, as a column of the same index (a missing id
    stays missing). A column of a million rows holds a few hundred distinct ids: each is split
    once."""
    codes, uniques = pd.factorize(link_ids, use_na_sentinel=True)
    # position -1 (a missing id) takes the last element
    chains = np.array([chain_of(str(u)) for u in uniques] + [np.nan], dtype=object)
    return pd.Series(chains[codes], index=link_ids.index, dtype=object, name=link_ids.name)


def _load_chain_file(path: Path, known_codes: set[tuple[str, str]]) -> Chain:
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ReferenceDataError(f"{path}: expected a mapping")
    chain = _parse(Chain, raw, path)
    segments = {s.id for s in chain.segments}
    links = []
    seen: set[str] = set()
    for link in chain.links:
        full_id = _qualify(chain.id, link.id)
        if full_id in seen:
            raise ReferenceDataError(f"{path}: link {full_id}: defined twice")
        seen.add(full_id)
        if link.segment not in segments:
            raise ReferenceDataError(f"{path}: link {full_id}: unknown segment {link.segment!r}")
        for scheme, codes in (("gbt4754_2017", link.gbt4754), ("sw2021", link.sw2021)):
            for code in codes:
                if (scheme, code) not in known_codes:
                    raise ReferenceDataError(
                        f"{path}: link {full_id}: {scheme} code {code!r} does not exist"
                    )
        links.append(
            link.model_copy(
                update={
                    "id": full_id,
                    "upstream": tuple(_qualify(chain.id, u) for u in link.upstream),
                }
            )
        )
    return chain.model_copy(update={"links": tuple(links)})


def load_chains(
    directory: Path = CHAINS_DIR, *, known_codes: Iterable[tuple[str, str]] | None = None
) -> dict[str, Chain]:
    """All chains in ``directory``, validated across files (upstream links may cross chains).

    ``known_codes`` are the (scheme, code) pairs that exist; by default the bundled industries.
    """
    codes = set(known_codes) if known_codes is not None else set(load_industries())
    chains: dict[str, Chain] = {}
    origin: dict[str, Path] = {}
    for path in sorted(directory.glob("*.yaml")):
        chain = _load_chain_file(path, codes)
        if chain.id in chains:
            raise ReferenceDataError(
                f"{path}: chain {chain.id} already defined in {origin[chain.id]}"
            )
        chains[chain.id] = chain
        for link in chain.links:
            origin[link.id] = path
    all_links = {link.id: link for chain in chains.values() for link in chain.links}
    for link in all_links.values():
        for up in link.upstream:
            if up not in all_links:
                raise ReferenceDataError(
                    f"{origin[link.id]}: link {link.id}: unknown upstream link {up!r}"
                )
    try:
        TopologicalSorter({k: v.upstream for k, v in all_links.items()}).prepare()
    except CycleError as exc:
        cycle = exc.args[1]
        raise ReferenceDataError(
            f"{origin[cycle[0]]}: link {cycle[0]}: upstream cycle {' -> '.join(cycle)}"
        ) from exc
    return chains


@lru_cache(maxsize=1)
def default_chains() -> dict[str, Chain]:
    """The bundled chains, loaded once."""
    return load_chains()


def load_park(path: Path, *, chains: Mapping[str, Chain] | None = None) -> Park:
    """A park profile, checked against the chains it names."""
    chains = default_chains() if chains is None else chains
    park = _parse(Park, _read_yaml(path), path)
    links = {link.id for chain in chains.values() for link in chain.links}
    for target in park.chains:
        if target.id not in chains:
            raise ReferenceDataError(f"{path}: chains: unknown chain {target.id!r}")
    if not park.tracks:
        raise ReferenceDataError(f"{path}: tracks: a park needs at least one track")
    for name, track in park.tracks.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ReferenceDataError(
                f"{path}: tracks.{name}: a track id is lower-case letters, digits and _"
            )
        for chain_id in track.chains:
            if chain_id not in chains:
                raise ReferenceDataError(f"{path}: tracks.{name}: unknown chain {chain_id!r}")
        if track.weights.tax + track.weights.chain <= 0:
            raise ReferenceDataError(f"{path}: tracks.{name}.weights: tax and chain are both 0")
    for link_id in park.link_targets:
        if link_id not in links:
            raise ReferenceDataError(f"{path}: link_targets: unknown link {link_id!r}")
    for kpi in park.kpi_targets:
        for chain_id in kpi.measure.chains if kpi.measure else ():
            if chain_id not in chains:
                raise ReferenceDataError(
                    f"{path}: kpi_targets.{kpi.id}.measure.chains: unknown chain {chain_id!r}"
                )
        if kpi.measure is not None and kpi.measure.kind == "new_buildings_over" and not park.space:
            raise ReferenceDataError(
                f"{path}: kpi_targets.{kpi.id}.measure: counting buildings needs the park's "
                "space block (space:)"
            )
        if kpi.baseline_key is not None and kpi.baseline_key not in park.baseline:
            raise ReferenceDataError(
                f"{path}: kpi_targets.{kpi.id}.baseline_key: {kpi.baseline_key!r} is not in baseline"
            )
    if park.contact_plan is not None:
        plan = park.contact_plan
        for track_id in plan.capacity_per_quarter:
            if track_id not in park.tracks:
                raise ReferenceDataError(
                    f"{path}: contact_plan.capacity_per_quarter: unknown track {track_id!r}"
                )
        missing = [t for t in park.tracks if t not in plan.capacity_per_quarter]
        if missing:
            raise ReferenceDataError(
                f"{path}: contact_plan.capacity_per_quarter: give every track (missing {missing})"
            )
        kpi_ids = {k.id for k in park.kpi_targets}
        for target_id in plan.price_floor_wan_cny:
            if target_id not in kpi_ids and target_id not in links:
                raise ReferenceDataError(
                    f"{path}: contact_plan.price_floor_wan_cny: unknown target {target_id!r} "
                    "(a KPI id or a link id)"
                )
    if park.space is not None:
        for link_id in park.space.interim_unit.lab_links:
            if link_id not in links:
                raise ReferenceDataError(
                    f"{path}: space.interim_unit.lab_links: unknown link {link_id!r}"
                )
    return park


def track_for_chain(park: Park, chain_id: str) -> str:
    """The track whose lead order ranks a chain's firms: the first that names the chain, else
    the first track without chains of its own (it scores all the park's chains), else the first."""
    for name, track in park.tracks.items():
        if chain_id in track.chains:
            return name
    return next((n for n, t in park.tracks.items() if not t.chains), next(iter(park.tracks)))


def track_error(park: Park, track: str) -> str | None:
    """Why ``track`` is no track of ``park`` (``track: …`` naming the park's tracks), or ``None``
    when it is one: the one check of a track for every caller (API, pages, CLI, features)."""
    if track in park.tracks:
        return None
    return f"track: {park.id} has no track {track!r}; its tracks: {', '.join(park.tracks)}"


def load_parks(directory: Path = PARKS_DIR) -> dict[str, Park]:
    """All park profiles in ``directory`` keyed by id."""
    parks = {}
    for path in sorted(directory.glob("*.yaml")):
        park = load_park(path)
        parks[park.id] = park
    return parks


def known_tracks() -> frozenset[str]:
    """Every track id of the bundled parks (what an outreach record may name)."""
    return frozenset(t for park in default_parks().values() for t in park.tracks)


@lru_cache(maxsize=1)
def default_parks() -> dict[str, Park]:
    """The bundled parks, loaded once."""
    return load_parks()


class City(_Frozen):
    """A city candidates are drawn from."""

    name: str
    admin: int
    lat: float
    lon: float
    weight: float
    districts: tuple[dict[str, str | int], ...] = ()


class Province(_Frozen):
    """A province-level division with its main cities."""

    name: str
    short: str
    weight: float
    cities: tuple[City, ...] = ()


@lru_cache(maxsize=1)
def load_regions(
    path: Path = REFERENCE_DIR / "regions.yaml",
) -> tuple[tuple[Province, ...], dict[str, tuple[str, ...]]]:
    """Provinces with cities, and former district names per province (kept as recorded)."""
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ReferenceDataError(f"{path}: expected a mapping")
    provinces = tuple(_parse(Province, p, path) for p in raw["provinces"])
    former = {k: tuple(v) for k, v in raw.get("former_districts", {}).items()}
    return provinces, former


class LinkVocabulary(_Frozen):
    """The words that identify a link in a product name or a business scope (经营范围).

    ``terms`` match product names and scope text, ``products`` only product names (汽车 names a
    product line, but in a scope it is part of 汽车配件), ``scope`` only scope text, ``patterns`` are
    regular expressions (for Latin acronyms that must stand alone), and ``exclude`` names what,
    in the same product name or scope item, makes a match mean something else.
    """

    link_id: str
    terms: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def _vocabulary_entry(path: Path, link_id: str, raw: object) -> LinkVocabulary:
    if not isinstance(raw, dict):
        raise ReferenceDataError(f"{path}: link {link_id}: expected a mapping of terms")
    vocabulary = _parse(LinkVocabulary, {**raw, "link_id": link_id}, path)
    for field in ("terms", "products", "scope", "patterns", "exclude"):
        for term in getattr(vocabulary, field):
            if not term.strip():
                raise ReferenceDataError(f"{path}: link {link_id}: {field}: empty term")
    for pattern in vocabulary.patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ReferenceDataError(
                f"{path}: link {link_id}: patterns: {pattern!r} does not compile: {exc}"
            ) from exc
    if not (vocabulary.terms or vocabulary.products or vocabulary.scope or vocabulary.patterns):
        raise ReferenceDataError(f"{path}: link {link_id}: no terms, scope phrases or patterns")
    return vocabulary


def load_vocabularies(
    directory: Path = VOCABULARY_DIR, *, chains: Mapping[str, Chain] | None = None
) -> dict[str, LinkVocabulary]:
    """The link vocabularies (one YAML per chain, ``<chain id>.yaml``, keyed by link id), checked
    against the chains: a file for an unknown chain, an unknown link, an empty term or a pattern
    that does not compile is an error naming the file and the link."""
    chains = default_chains() if chains is None else chains
    out: dict[str, LinkVocabulary] = {}
    for path in sorted(directory.glob("[!_]*.yaml")):
        chain = chains.get(path.stem)
        if chain is None:
            raise ReferenceDataError(f"{path}: unknown chain {path.stem!r}")
        raw = _read_yaml(path)
        if not isinstance(raw, dict):
            raise ReferenceDataError(f"{path}: expected a mapping of link id to vocabulary")
        known = {link.id for link in chain.links}
        for key, entry in raw.items():
            link_id = _qualify(chain.id, str(key))
            if link_id not in known:
                raise ReferenceDataError(f"{path}: link {link_id}: unknown link of {chain.id}")
            out[link_id] = _vocabulary_entry(path, link_id, entry)
    return out


def load_generic_terms(path: Path = VOCABULARY_DIR / "_generic.yaml") -> tuple[str, ...]:
    """Words that name no link (软件开发, 系统集成, 平衡项目): see ``_generic.yaml``."""
    raw = _read_yaml(path)
    terms = raw.get("terms") if isinstance(raw, dict) else None
    if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
        raise ReferenceDataError(f"{path}: terms: expected a list of non-empty words")
    return tuple(terms)


@lru_cache(maxsize=1)
def default_vocabularies() -> dict[str, LinkVocabulary]:
    """The bundled link vocabularies, loaded once."""
    return load_vocabularies()


def industry_link_map(chains: Mapping[str, Chain], *, scheme: str) -> dict[str, tuple[str, ...]]:
    """Industry code -> the curated links that list it, for ``scheme`` (gbt4754_2017 or sw2021)."""
    out: dict[str, list[str]] = {}
    for chain in chains.values():
        for link in chain.links:
            codes = link.gbt4754 if scheme == "gbt4754_2017" else link.sw2021
            for code in codes:
                out.setdefault(code, []).append(link.id)
    return {code: tuple(links) for code, links in out.items()}
