"""The demo's carriers (载体) for Shibei and where its firms sit, on a random stream of their own.

What is the plan's, what is public, and what is made up:

- **The plan** (一、(一)3 and its KPI table): 近140万 m² of carriers built in 2016–2020, naming
  市北壹中心, 上海区块链生态谷, 聚能湾创新社区, 市北智汇园 and 市北新中新 (智汇园, 新中新 and 壹中心 in
  use; the blockchain valley — opened June 2020 — and 聚能湾创新社区 completed at the end of 2020);
  the 聚能湾 national incubator with 113 firms in incubation; 170万 m² of new development in
  2021–2025 of which 50–60万 m² industrial space; the blockchain valley "基本建成" by 2025;
  5.5万 people at work in the park.
- **Public reports** of the 14th-plan projects: 静安市北国际科创社区 on the former 彭浦机器厂 site
  (six plots: R&D office, two office plots, housing; 上观新闻 2021-10: 27万 m²); its 云芯科创中心,
  three R&D office towers of 16.6万 m² in all with a 5.5万 m² garage and 0.5万 m² of community
  space (中房网, 2024-02); plot 22-02, 14万 m² of which 65 % of the 9.6万 m² above ground offices
  (中国发展网, 2020-02).
- **Made up** (the demo's assumptions): how the 13th-plan 136万 m² splits into buildings, each
  building's lettable share (62–75 % of its floor area: basements and cores), completion days
  inside the years the sources give, the rent bands, the chains and tracks each is meant for,
  the occupancy each had reached at the end of 2020, the older stock (built before 2016, sized
  to hold the firms the named carriers do not), and the remaining 14th-plan space (a made-up
  R&D building marked 演示) so that the new industrial space is 55万 m², the middle of the
  plan's range.

**Where firms sit.** Each of the park's 1,470 firms gets the unit the park YAML's interim rule
gives it (staff min(employees, 8.9·√employees); a lab if its main link is a lab link, R&D if it
has a chain link, else an office) and a leased area of staff × an area per person drawn from
the YAML's P10/P50/P90 for its kind (log-normal, each side of the median on its own). Then, on
the stream ``[seed, SPACE_STREAM]`` (no existing draw of the demo changes):

1. 113 start-ups into the incubator: firms small enough for a suite, tech firms (a chain link
   or high-tech) first, then the smallest;
2. the blockchain firms into the blockchain valley;
3. every other firm, largest first, into a building chosen with probability ∝ kind fit ×
   purpose fit × a headquarters' liking for office towers, among those with room under the
   occupancy the building had reached; a firm that fits none goes to the older stock, which
   opens a building (20,000–60,000 m², or one of its own for a firm too large) when needed.

A firm moved in on the later of the day it entered the park and its building's completion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import pandas as pd

from data import columns as C
from data.landing import Z90  # the standard normal's 90th percentile
from data.reference import Park, Space

SPACE_STREAM: Final = 28  # the new draws' stream: np.random.default_rng([seed, SPACE_STREAM])
COUNT_DAY: Final = date(2020, 12, 31)  # the demo's as-of: the free area is counted that day


@dataclass(frozen=True)
class Carrier:
    """A carrier of the demo: its buildings, kind, floor area each, completion, purpose, rent, and
    the occupancy it had reached at the end of 2020 (None: completed later, empty then)."""

    name: str
    buildings: int
    kind: str
    floor_m2: float  # each building
    completed: date
    chains: str | None
    tracks: str | None
    rent: tuple[float, float]
    occupancy_2020: float | None
    lettable_share: float | None = None  # None: drawn in 62–75 %
    source: str = "demo assumption"


# the plan's 13th-period carriers: 210 + 150 + 320 + 300 + 380 = 1,360,000 m² (近140万)
LAST_PERIOD: Final = (
    Carrier(
        "市北智汇园",
        6,
        "rd",
        35_000,
        date(2017, 6, 30),
        "big_data;iot;industrial_internet",
        "bigdata",
        (3.5, 4.8),
        0.92,
        source="plan (in use by 2020); split assumed",
    ),
    Carrier(
        "市北新中新",
        3,
        "office",
        50_000,
        date(2018, 6, 30),
        None,
        "hq",
        (4.5, 6.0),
        0.88,
        source="plan (in use by 2020); split assumed",
    ),
    Carrier(
        "市北壹中心",
        4,
        "office",
        80_000,
        date(2019, 9, 30),
        None,
        "hq",
        (5.5, 7.0),
        0.78,
        source="plan (in use by 2020); split assumed",
    ),
    Carrier(
        "上海区块链生态谷",
        6,
        "themed_park",
        50_000,
        date(2020, 12, 15),
        "blockchain;fintech",
        None,
        (4.0, 5.5),
        0.12,
        source="plan (opened 2020-06, completed end of 2020)",
    ),
    Carrier(
        "聚能湾创新社区",
        5,
        "rd",
        76_000,
        date(2020, 12, 20),
        None,
        "bigdata",
        (3.8, 5.0),
        0.04,
        source="plan (completed end of 2020)",
    ),
)
INCUBATOR: Final = Carrier(
    "聚能湾国家级孵化器",
    1,
    "incubator",
    9_000,
    date(2012, 6, 30),
    None,
    None,
    (2.0, 3.5),
    0.95,
    source="plan (113 firms in incubation); area assumed",
)
# the 14th period's industrial space: 166 + 90 + 120 + 100 + 74 = 550,000 m² (the plan: 50–60万)
NEXT_PERIOD: Final = (
    Carrier(
        "云芯科创中心",
        3,
        "rd",
        166_000 / 3,
        date(2023, 6, 30),
        "industrial_internet;iot;big_data",
        "bigdata",
        (4.2, 5.5),
        None,
        lettable_share=106_000 / 166_000,
        source="中房网 2024-02: 3 R&D towers, 16.6万 m² with a 5.5万 m² garage; completion day assumed",
    ),
    Carrier(
        "静安市北国际科创社区 22-02 商办",
        1,
        "office",
        90_000,
        date(2025, 6, 30),
        None,
        "hq",
        (5.0, 6.5),
        None,
        lettable_share=62_400 / 90_000,
        source="中国发展网 2020-02: 65 % of 9.6万 m² above ground offices; completion assumed",
    ),
    Carrier(
        "静安市北国际科创社区 17-02 商办",
        1,
        "office",
        120_000,
        date(2024, 12, 31),
        None,
        "hq",
        (5.0, 6.5),
        None,
        source="a plot of the 科创社区 (上观新闻 2021-10); size assumed",
    ),
    Carrier(
        "上海区块链生态谷 二期",
        2,
        "themed_park",
        50_000,
        date(2024, 6, 30),
        "blockchain;fintech",
        None,
        (4.0, 5.5),
        None,
        source="plan: the valley 基本建成 by 2025; size assumed",
    ),
    Carrier(
        "十四五新增研发载体（演示）",
        1,
        "rd",
        74_000,
        date(2025, 9, 30),
        None,
        "bigdata",
        (3.8, 5.0),
        None,
        source="made up: the rest of the plan's 55万 m² of industrial space",
    ),
)
OLDER_OCCUPANCY: Final = 0.93
OLDER_FLOOR_M2: Final = (20_000.0, 60_000.0)
HQ_OFFICE_LIKING: Final = 3.0  # a headquarters picks an office tower 3 × as readily


def _two_piece(rng: np.random.Generator, p10: float, p50: float, p90: float, n: int) -> np.ndarray:
    z = rng.standard_normal(n)
    lo, hi = np.log(p50 / p10) / Z90, np.log(p90 / p50) / Z90
    return np.asarray(p50 * np.exp(np.where(z < 0, lo, hi) * z), dtype=np.float64)


def _unit_areas(
    rng: np.random.Generator, space: Space, staff: np.ndarray, kind: np.ndarray
) -> np.ndarray:
    area = np.empty(len(staff))
    for unit, per in space.area_per_person_m2.items():
        rows = np.flatnonzero(kind == unit)
        area[rows] = staff[rows] * _two_piece(rng, per.p10, per.p50, per.p90, len(rows))
    return np.round(area, 1)


@dataclass
class _Building:
    building_id: str
    name: str
    carrier: str
    kind: str
    floor: float
    lettable: float
    completed: date
    chains: str | None
    tracks: str | None
    rent: tuple[float, float]
    cap: float  # what may be let by the end of 2020
    used: float = 0.0


def _buildings(
    rng: np.random.Generator, carriers: tuple[Carrier, ...], prefix: str
) -> list[_Building]:
    out = []
    for c_index, carrier in enumerate(carriers):
        for k in range(carrier.buildings):
            share = carrier.lettable_share or float(rng.uniform(0.62, 0.75))
            lettable = round(carrier.floor_m2 * share, 0)
            suffix = f" {k + 1}号楼" if carrier.buildings > 1 else ""
            out.append(
                _Building(
                    building_id=f"{prefix}{c_index + 1:02d}-{k + 1}",
                    name=carrier.name + suffix,
                    carrier=carrier.name,
                    kind=carrier.kind,
                    floor=round(carrier.floor_m2, 0),
                    lettable=lettable,
                    completed=carrier.completed,
                    chains=carrier.chains,
                    tracks=carrier.tracks,
                    rent=carrier.rent,
                    # buildings of one carrier let at slightly different paces
                    cap=lettable
                    * min(1.0, (carrier.occupancy_2020 or 0.0) * float(rng.uniform(0.93, 1.05))),
                )
            )
    return out


def demo_space(
    *,
    rng: np.random.Generator,
    park: Park,
    firms: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """``park_buildings``, ``building_supply`` and ``building_tenants`` of a demo park (module
    doc). ``firms``: the park's firms with enterprise_id, employees, hq_type, main_link (or
    None), is_high_tech, entered_on. A park without a space block gets no rows."""
    space = park.space
    if space is None:
        return {}
    n = len(firms)
    staff = space.interim_unit.staff_p50(firms[C.EMPLOYEES].astype(float).to_numpy())
    main = firms["main_link"].astype(object).to_numpy()
    has_link = np.array([isinstance(m, str) and bool(m) for m in main])
    lab = np.isin(main.astype(str), list(space.interim_unit.lab_links))
    unit = np.where(lab, "lab", np.where(has_link, "rd", "office"))
    area = _unit_areas(rng, space, staff, unit)
    hq = firms[C.HQ_TYPE].astype(str).to_numpy() != "none"
    chains = np.array([m.split(".", 1)[0] if isinstance(m, str) else "" for m in main])
    entered = pd.to_datetime(firms[C.ENTERED_ON]).to_numpy()
    tech = has_link | firms[C.IS_HIGH_TECH].astype(bool).to_numpy()

    incubator = _buildings(rng, (INCUBATOR,), "JNW")
    carriers = _buildings(rng, LAST_PERIOD, "SB")
    later = _buildings(rng, NEXT_PERIOD, "NX")
    older: list[_Building] = []
    building_of = np.full(n, -1, dtype=np.int64)
    pool = incubator + carriers  # indices into pool, then older stock appended
    incubated = min((space.plan.incubated_firms if space.plan else 0), n)
    # start-ups: small enough for a suite, the tech firms first, then the smallest
    fits_suite = np.flatnonzero(area <= (space.kinds["incubator"].max_unit_m2 or np.inf))
    rank = np.lexsort((area[fits_suite], ~tech[fits_suite]))
    pick = fits_suite[rank][:incubated]
    for i in pick:
        building_of[i] = 0
        pool[0].used += area[i]
    valley = [j for j, b in enumerate(pool) if b.carrier == "上海区块链生态谷"]
    for i in np.flatnonzero((chains == "blockchain") & (building_of < 0)):
        j = valley[int(rng.integers(0, len(valley)))]
        building_of[i] = j
        pool[j].used += area[i]
        pool[j].cap = max(pool[j].cap, pool[j].used)
    order = np.argsort(-area, kind="stable")
    for i in order:
        if building_of[i] >= 0:
            continue
        candidates = [
            j for j, b in enumerate(pool) if b.kind != "incubator" and b.cap - b.used >= area[i]
        ]
        if candidates:
            weights = np.array(
                [_liking(space, pool[j], str(unit[i]), chains[i], bool(hq[i])) for j in candidates]
            )
            if weights.sum() > 0:
                j = candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))]
                building_of[i] = j
                pool[j].used += area[i]
                continue
        # the older stock: built before 2016, opened as firms need it
        kind = "office" if unit[i] == "office" else "rd"
        fits = [
            j
            for j, b in enumerate(pool)
            if b in older and b.kind == kind and b.cap - b.used >= area[i]
        ]
        if fits:
            j = fits[0]
        else:
            floor = float(rng.uniform(*OLDER_FLOOR_M2))
            share = float(rng.uniform(0.62, 0.75))
            floor = max(floor, area[i] / (share * OLDER_OCCUPANCY))
            number = len(older) + 1
            b = _Building(
                building_id=f"OLD{number:02d}",
                name=f"市北高新存量楼宇 {number:02d}（演示）",
                carrier="存量楼宇（演示）",
                kind=kind,
                floor=round(floor, 0),
                lettable=round(floor * share, 0),
                completed=date(int(rng.integers(1998, 2016)), int(rng.integers(1, 13)), 15),
                chains=None,
                tracks=None,
                rent=(3.5, 5.0) if kind == "office" else (3.0, 4.5),
                cap=0.0,
            )
            b.cap = b.lettable * OLDER_OCCUPANCY
            older.append(b)
            pool.append(b)
            j = len(pool) - 1
        building_of[i] = j
        pool[j].used += area[i]
    every = pool + later
    count_day = pd.Timestamp(COUNT_DAY)
    buildings = pd.DataFrame(
        {
            C.PARK_ID: park.id,
            C.BUILDING_ID: [b.building_id for b in every],
            C.NAME: [b.name for b in every],
            C.CARRIER: [b.carrier for b in every],
            C.BUILDING_KIND: [b.kind for b in every],
            C.FLOOR_AREA: [b.floor for b in every],
            C.LETTABLE_AREA: [b.lettable for b in every],
            C.FREE_AREA: [
                round(max(b.lettable - b.used, 0.0), 1) if b.completed <= COUNT_DAY else 0.0
                for b in every
            ],
            C.FREE_ON: count_day,
            C.COMPLETED_ON: pd.to_datetime([b.completed for b in every]),
            C.CHAINS: pd.Series([b.chains for b in every], dtype=object),
            C.TRACKS: pd.Series([b.tracks for b in every], dtype=object),
            C.RENT_LOW: [b.rent[0] for b in every],
            C.RENT_HIGH: [b.rent[1] for b in every],
        }
    )
    supply = pd.DataFrame(
        {
            C.PARK_ID: park.id,
            C.BUILDING_ID: [b.building_id for b in later],
            C.AVAILABLE_ON: pd.to_datetime([b.completed for b in later]),
            C.AREA: [b.lettable for b in later],
            C.SUPPLY_REASON: "completion",
        }
    )
    moved_in = np.maximum(
        entered, pd.to_datetime([pool[j].completed for j in building_of]).to_numpy()
    )
    tenants = pd.DataFrame(
        {
            C.PARK_ID: park.id,
            C.BUILDING_ID: [pool[j].building_id for j in building_of],
            C.ENTERPRISE_ID: firms[C.ENTERPRISE_ID].astype(str).to_numpy(),
            C.AREA: area,
            C.SINCE: pd.to_datetime(moved_in).normalize(),
            C.UNTIL: pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
        }
    )
    tenants = tenants.sort_values([C.BUILDING_ID, C.ENTERPRISE_ID], kind="stable").reset_index(
        drop=True
    )
    return {"park_buildings": buildings, "building_supply": supply, "building_tenants": tenants}


def _liking(space: Space, building: _Building, unit: str, chain: str, hq: bool) -> float:
    kind = space.kinds[building.kind]
    fit = float(kind.hosts.get(unit, 0.0))
    named = set((building.chains or "").split(";")) - {""}
    if named and chain not in named:
        fit *= space.other_chain_fit
    if hq and building.kind == "office":
        fit *= HQ_OFFICE_LIKING
    return fit
