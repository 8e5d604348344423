"""The park's carriers (载体) as tables: import from an officer's sheet, checks across tables, and
the lettable area in use and free on any day.

**Tables** (``data.schemas``): ``park_buildings`` (one row per building or phase: kind, 建筑面积,
lettable area, the area free on the day it was counted, completion, the chains and tracks it is
meant for, rent band), ``building_supply`` (dated additions of free area: a completion, a new
phase, a refit) and ``building_tenants`` (firm → building, area, since, until).

**Area on a day t**, per building (all in m² of lettable area):

- ``occupied(t)`` = Σ area of its tenants with ``since ≤ t`` and no ``until`` or ``until > t``;
- ``available(t)`` = ``occupied(free_on) + free_area_m2`` + Σ supply with ``free_on < available_on ≤ t``
  − Σ supply with ``t < available_on ≤ free_on`` (the area it had to let at all: a phase not
  completed yet is not there);
- ``free(t)`` = ``available(t) − occupied(t)``: a move-in after the count takes free area, a
  move-out (``until``) gives it back, a completion adds it. Every change is recorded once.

**The officer's sheet** (``import_space``): a workbook with the sheets 载体 (buildings), 新增面积
(supply) and 入驻企业 (tenants) — or one CSV / sheet per table — in Chinese headers (载体名称,
类型, 建筑面积, 可租面积, 可用面积, 统计日期, 竣工日期, 定位产业, 招商方向, 租金 …; see the alias
tables) or the contract's own names. Documented normalisations, each counted in the report: areas
given in 万 m² (``1.2万``) or with a unit (``12,000㎡``) become m²; a rent band ``4.5-6`` becomes
low and high (a monthly rent, ``元/㎡/月``, is divided by 365 / 12 days); a kind, chain or track
written in words (写字楼, 区块链, 总部经济) becomes its id through the park YAML; a building
without an id takes its name as id; without a 统计日期 the free area is dated by the import's
``as_of``; without a 可租面积 column the lettable area is the floor area.

**All or nothing**: any failing cell — a row the schema rejects, a value it would clear, an
unknown building, chain or firm, a cross-table check (lettable ≤ floor area, free ≤ lettable,
rent low ≤ high, until after since, a building's tenants and supply within its lettable area, no
day on which more is let than is free) — refuses the whole import: ``write_space`` writes the
rejects files (row, column, value, reason, action) and nothing else.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from data import columns as C
from data.loaders import (
    DataFileError,
    LoadResult,
    RawTable,
    _rejects_frame,
    read_excel,
    read_raw,
    reject_record,
    validate_table,
    write_parquet,
)
from data.reference import Chain, Park
from data.schemas import SPACE_TABLES, column_order

AREA_TOLERANCE_M2: Final = 0.5  # rounding in an officer's sheet, not a shortfall

BUILDING_HEADERS: Final[Mapping[str, str]] = {
    "载体编号": C.BUILDING_ID,
    "楼宇编号": C.BUILDING_ID,
    "编号": C.BUILDING_ID,
    "载体名称": C.NAME,
    "楼宇名称": C.NAME,
    "名称": C.NAME,
    "所属项目": C.CARRIER,
    "项目名称": C.CARRIER,
    "载体项目": C.CARRIER,
    "类型": C.BUILDING_KIND,
    "载体类型": C.BUILDING_KIND,
    "楼宇类型": C.BUILDING_KIND,
    "建筑面积": C.FLOOR_AREA,
    "总建筑面积": C.FLOOR_AREA,
    "可租面积": C.LETTABLE_AREA,
    "可出租面积": C.LETTABLE_AREA,
    "租赁面积": C.LETTABLE_AREA,
    "可用面积": C.FREE_AREA,
    "空置面积": C.FREE_AREA,
    "可招商面积": C.FREE_AREA,
    "剩余面积": C.FREE_AREA,
    "统计日期": C.FREE_ON,
    "截至日期": C.FREE_ON,
    "竣工日期": C.COMPLETED_ON,
    "竣工时间": C.COMPLETED_ON,
    "建成日期": C.COMPLETED_ON,
    "定位产业": C.CHAINS,
    "产业定位": C.CHAINS,
    "适用产业": C.CHAINS,
    "主导产业": C.CHAINS,
    "招商方向": C.TRACKS,
    "适用赛道": C.TRACKS,
    "租金下限": C.RENT_LOW,
    "租金上限": C.RENT_HIGH,
}
RENT_BAND_HEADERS: Final = ("租金", "租金区间", "租金(元/㎡/天)", "租金（元/㎡/天）", "rent")
SUPPLY_HEADERS: Final[Mapping[str, str]] = {
    "载体编号": C.BUILDING_ID,
    "楼宇编号": C.BUILDING_ID,
    "载体名称": "_building_name",
    "楼宇名称": "_building_name",
    "可用日期": C.AVAILABLE_ON,
    "交付日期": C.AVAILABLE_ON,
    "释放日期": C.AVAILABLE_ON,
    "竣工日期": C.AVAILABLE_ON,
    "新增面积": C.AREA,
    "面积": C.AREA,
    "可用面积": C.AREA,
    "原因": C.SUPPLY_REASON,
    "类型": C.SUPPLY_REASON,
    "来源": C.SUPPLY_REASON,
}
SUPPLY_REASON_WORDS: Final[Mapping[str, str]] = {
    "竣工": "completion",
    "竣工交付": "completion",
    "新建": "completion",
    "新一期": "new_phase",
    "新增分期": "new_phase",
    "二期": "new_phase",
    "三期": "new_phase",
    "分期": "new_phase",
    "改造": "refit",
    "腾退改造": "refit",
    "其他": "other",
}
TENANT_HEADERS: Final[Mapping[str, str]] = {
    "载体编号": C.BUILDING_ID,
    "楼宇编号": C.BUILDING_ID,
    "载体名称": "_building_name",
    "楼宇名称": "_building_name",
    "统一社会信用代码": C.ENTERPRISE_ID,
    "社会信用代码": C.ENTERPRISE_ID,
    "企业编号": C.ENTERPRISE_ID,
    "承租面积": C.AREA,
    "租赁面积": C.AREA,
    "面积": C.AREA,
    "入驻日期": C.SINCE,
    "起租日期": C.SINCE,
    "迁出日期": C.UNTIL,
    "退租日期": C.UNTIL,
}
SHEETS: Final[Mapping[str, tuple[str, ...]]] = {
    "park_buildings": ("载体", "楼宇", "park_buildings", "buildings"),
    "building_supply": ("新增面积", "供给", "building_supply", "supply"),
    "building_tenants": ("入驻企业", "租户", "building_tenants", "tenants"),
}
_AREA = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(万)?\s*(?:平方米|平米|㎡|m²|m2|sqm)?\s*$")
_RENT = re.compile(
    r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:[-~～—至到]\s*([0-9]+(?:\.[0-9]+)?))?\s*"
    r"(?:元)?\s*(?:/\s*(?:㎡|m²|m2|平方米|平米))?\s*(?:/\s*(天|日|月))?\s*$"
)
_LIST_SPLIT = re.compile(r"[;；,，、/\s]+")
DAYS_PER_MONTH: Final = 365.0 / 12.0


@dataclass
class SpaceImport:
    """What an import of the park's space read: each table's load (with its rejects, the
    cross-table ones included) and the normalisations. ``ok`` only when nothing failed."""

    park_id: str
    results: dict[str, LoadResult]
    normalisations: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        """True when no cell of any table failed (the import may be written)."""
        return all(r.rejects.empty for r in self.results.values())

    def first_failures(self, n: int = 5) -> list[str]:
        """The first ``n`` failures as 'table row R, column: reason (value)'."""
        out = []
        for table, result in self.results.items():
            for rec in result.rejects.head(n).to_dict("records"):
                out.append(
                    f"{table} row {rec[C.REJECT_ROW]}, {rec[C.REJECT_COLUMN]}: "
                    f"{rec[C.REJECT_REASON]} ({rec[C.REJECT_VALUE]})"
                )
        return out[:n]

    def summary(self) -> dict[str, object]:
        """Counts per table for printing and the report."""
        return {
            "park_id": self.park_id,
            "ok": self.ok,
            "tables": {name: r.summary() for name, r in self.results.items()},
            "normalisations": dict(sorted(self.normalisations.items())),
        }


class SpaceImportRefused(DataFileError):
    """The sheet had failing cells; nothing was written but the rejects files."""


# --------------------------------------------------------------------------------------------
# parsing an officer's cells


def parse_area_m2(value: object) -> tuple[float | None, bool]:
    """An area in m² from a cell (``12000``, ``12,000㎡``, ``1.2万``, ``1.2万平方米``) and whether
    it was given in 万 m²; ``(None, False)`` when it is not an area."""
    if value is None:
        return None, False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), False
    match = _AREA.match(str(value))
    if match is None:
        return None, False
    number = float(match.group(1).replace(",", ""))
    wan = match.group(2) is not None
    return (number * 10_000.0 if wan else number), wan


def parse_rent_band(value: object) -> tuple[float, float, bool] | None:
    """(low, high, was monthly) in 元/㎡/天 from ``4.5-6``, ``5``, ``150-180元/㎡/月``; None if not."""
    if value is None:
        return None
    match = _RENT.match(str(value))
    if match is None:
        return None
    low = float(match.group(1))
    high = float(match.group(2)) if match.group(2) else low
    monthly = match.group(3) == "月"
    if monthly:
        low, high = low / DAYS_PER_MONTH, high / DAYS_PER_MONTH
    return round(low, 3), round(high, 3), monthly


def _words(value: object) -> list[str]:
    return [w for w in _LIST_SPLIT.split(str(value).strip()) if w]


def chain_ids_of(value: object, chains: Mapping[str, Chain]) -> tuple[list[str], list[str]]:
    """Chain ids named in a cell (ids, Chinese or English names, separated by ;，、/) and the
    words that name no chain."""
    known: dict[str, str] = {}
    for chain in chains.values():
        for word in (chain.id, chain.name_zh, chain.name_en.lower()):
            known[word] = chain.id
    ids: list[str] = []
    unknown: list[str] = []
    for word in _words(value):
        cid = known.get(word) or known.get(word.lower())
        if cid is None:
            unknown.append(word)
        elif cid not in ids:
            ids.append(cid)
    return ids, unknown


def track_ids_of(value: object, park: Park) -> tuple[list[str], list[str]]:
    """Track ids named in a cell (ids or the park's track names) and the words that name none."""
    known: dict[str, str] = {}
    for tid, track in park.tracks.items():
        for word in (tid, track.name_zh, track.name_en.lower()):
            known[word] = tid
    ids: list[str] = []
    unknown: list[str] = []
    for word in _words(value):
        found = known.get(word) or known.get(word.lower())
        if found is None:
            unknown.append(word)
        elif found not in ids:
            ids.append(found)
    return ids, unknown


# --------------------------------------------------------------------------------------------
# import


def _map(raw: RawTable, aliases: Mapping[str, str], table: str) -> tuple[pd.DataFrame, list[str]]:
    contract = set(column_order(table)) | {"_building_name"}
    mapping: dict[str, str] = {}
    unmapped: list[str] = []
    for col in raw.frame.columns:
        key = str(col).strip()
        target = key if key in contract else aliases.get(key)
        if target is None or target in mapping.values():
            unmapped.append(str(col))
        else:
            mapping[str(col)] = target
    return raw.frame.rename(columns=mapping), unmapped


def _area_column(
    frame: pd.DataFrame,
    column: str,
    rows: np.ndarray,
    failures: list[dict[str, object]],
    counts: Counter[str],
) -> None:
    if column not in frame:
        return
    out: list[Any] = []
    for i, value in enumerate(frame[column]):
        if value is None:
            out.append(None)
            continue
        area, wan = parse_area_m2(value)
        if area is None:
            failures.append(
                reject_record(
                    row=int(rows[i]),
                    column=column,
                    value=value,
                    reason="not an area (expected m², e.g. 12000, 12,000㎡ or 1.2万)",
                )
            )
            out.append(None)
            continue
        if wan:
            counts[f"{column} given in 万 m²"] += 1
        out.append(area)
    frame[column] = out


def _id_list_column(
    frame: pd.DataFrame,
    column: str,
    rows: np.ndarray,
    failures: list[dict[str, object]],
    counts: Counter[str],
    lookup: object,
    what: str,
) -> None:
    if column not in frame:
        return
    out: list[Any] = []
    for i, value in enumerate(frame[column]):
        if value is None:
            out.append(None)
            continue
        ids, unknown = lookup(value)  # type: ignore[operator]
        if unknown:
            failures.append(
                reject_record(
                    row=int(rows[i]),
                    column=column,
                    value=value,
                    reason=f"unknown {what}: {', '.join(unknown)}",
                )
            )
            out.append(None)
            continue
        if ";".join(ids) != str(value).strip():
            counts[f"{column} named in words"] += 1
        out.append(";".join(ids) if ids else None)
    frame[column] = out


def prepare_buildings(
    raw: RawTable, *, park: Park, chains: Mapping[str, Chain], as_of: date
) -> tuple[pd.DataFrame, list[dict[str, object]], Counter[str], list[str]]:
    """Map the 载体 sheet's headers and parse its cells into contract values (before the schema)."""
    if park.space is None:
        raise DataFileError(f"park {park.id}: its YAML has no space block (kinds of building)")
    space = park.space
    band_col = next((c for c in raw.frame.columns if str(c).strip() in RENT_BAND_HEADERS), None)
    frame, unmapped = _map(raw, BUILDING_HEADERS, "park_buildings")
    unmapped = [c for c in unmapped if c != band_col]
    rows = raw.rows
    failures: list[dict[str, object]] = []
    counts: Counter[str] = Counter()
    frame[C.PARK_ID] = park.id
    if C.NAME in frame and C.BUILDING_ID not in frame:
        frame[C.BUILDING_ID] = frame[C.NAME]
        counts["building_id taken from the name"] = int(frame[C.NAME].notna().sum())
    for column in (C.FLOOR_AREA, C.LETTABLE_AREA, C.FREE_AREA):
        _area_column(frame, column, rows, failures, counts)
    if C.LETTABLE_AREA not in frame and C.FLOOR_AREA in frame:
        frame[C.LETTABLE_AREA] = frame[C.FLOOR_AREA]
        counts["lettable area taken as the floor area (no 可租面积 column)"] = len(frame)
    if C.FREE_ON not in frame:
        frame[C.FREE_ON] = as_of.isoformat()
        counts[f"free area dated {as_of.isoformat()} (no 统计日期 column)"] = len(frame)
    if C.BUILDING_KIND in frame:
        kinds: list[Any] = []
        for i, value in enumerate(frame[C.BUILDING_KIND]):
            kind = space.kind_of(str(value)) if value is not None else None
            if value is not None and kind is None:
                failures.append(
                    reject_record(
                        row=int(rows[i]),
                        column=C.BUILDING_KIND,
                        value=value,
                        reason="unknown kind of carrier; one of "
                        + ", ".join(f"{k} ({v.name_zh})" for k, v in space.kinds.items()),
                    )
                )
            elif kind is not None and kind != value:
                counts["kind named in words"] += 1
            kinds.append(kind)
        frame[C.BUILDING_KIND] = kinds
    _id_list_column(
        frame, C.CHAINS, rows, failures, counts, lambda v: chain_ids_of(v, chains), "chain"
    )
    _id_list_column(
        frame, C.TRACKS, rows, failures, counts, lambda v: track_ids_of(v, park), "track"
    )
    if band_col is not None:
        lows: list[Any] = []
        highs: list[Any] = []
        for i, value in enumerate(raw.frame[band_col]):
            band = parse_rent_band(value)
            if value is not None and band is None:
                failures.append(
                    reject_record(
                        row=int(rows[i]),
                        column=C.RENT_LOW,
                        value=value,
                        reason="not a rent band (expected 元/㎡/天, e.g. 4.5-6)",
                    )
                )
            if band is not None and band[2]:
                counts["rent given per month, divided by 365/12 days"] += 1
            lows.append(None if band is None else band[0])
            highs.append(None if band is None else band[1])
        frame[C.RENT_LOW], frame[C.RENT_HIGH] = lows, highs
    return frame, failures, counts, unmapped


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def _building_refs(
    frame: pd.DataFrame,
    rows: np.ndarray,
    buildings: pd.DataFrame,
    failures: list[dict[str, object]],
    counts: Counter[str],
) -> pd.DataFrame:
    """Resolve a supply or tenant row's building (by id, or by name) against the buildings."""
    ids = set(buildings[C.BUILDING_ID].astype(str))
    by_name = dict(
        zip(buildings[C.NAME].astype(str), buildings[C.BUILDING_ID].astype(str), strict=True)
    )
    none: list[object] = [None] * len(frame)
    given_id = frame[C.BUILDING_ID].tolist() if C.BUILDING_ID in frame else none
    given_name = frame["_building_name"].tolist() if "_building_name" in frame else none
    out: list[Any] = []
    for i, (bid, name) in enumerate(zip(given_id, given_name, strict=True)):
        if _present(bid) and str(bid) in ids:
            out.append(str(bid))
        elif not _present(bid) and _present(name) and str(name) in by_name:
            out.append(by_name[str(name)])
            counts["building named, not numbered"] += 1
        else:
            shown = bid if _present(bid) else name if _present(name) else None
            failures.append(
                reject_record(
                    row=int(rows[i]),
                    column=C.BUILDING_ID if _present(bid) else "_building_name",
                    value=shown,
                    reason="no such building in the 载体 sheet"
                    if shown is not None
                    else "required value is missing (载体编号 or 载体名称)",
                )
            )
            out.append(None)
    frame = frame.assign(**{C.BUILDING_ID: out})
    return frame.drop(columns=["_building_name"], errors="ignore")


def prepare_supply(
    raw: RawTable, *, park: Park, buildings: pd.DataFrame
) -> tuple[pd.DataFrame, list[dict[str, object]], Counter[str], list[str]]:
    """Map the 新增面积 sheet and parse it (building by id or name, area, reason in words)."""
    frame, unmapped = _map(raw, SUPPLY_HEADERS, "building_supply")
    failures: list[dict[str, object]] = []
    counts: Counter[str] = Counter()
    frame[C.PARK_ID] = park.id
    frame = _building_refs(frame, raw.rows, buildings, failures, counts)
    _area_column(frame, C.AREA, raw.rows, failures, counts)
    if C.SUPPLY_REASON in frame:
        reasons: list[Any] = []
        for value in frame[C.SUPPLY_REASON]:
            word = None if value is None else str(value).strip()
            mapped = SUPPLY_REASON_WORDS.get(word, word) if word is not None else None
            if mapped != word:
                counts["reason named in words"] += 1
            reasons.append(mapped)
        frame[C.SUPPLY_REASON] = reasons
    return frame, failures, counts, unmapped


def prepare_tenants(
    raw: RawTable,
    *,
    park: Park,
    buildings: pd.DataFrame,
    enterprises: pd.DataFrame | None,
) -> tuple[pd.DataFrame, list[dict[str, object]], Counter[str], list[str]]:
    """Map the 入驻企业 sheet and parse it (building by id or name, the firm by its credit code)."""
    frame, unmapped = _map(raw, TENANT_HEADERS, "building_tenants")
    failures: list[dict[str, object]] = []
    counts: Counter[str] = Counter()
    frame[C.PARK_ID] = park.id
    frame = _building_refs(frame, raw.rows, buildings, failures, counts)
    _area_column(frame, C.AREA, raw.rows, failures, counts)
    if C.ENTERPRISE_ID in frame:
        frame[C.ENTERPRISE_ID] = frame[C.ENTERPRISE_ID].map(
            lambda v: v.strip().upper() if isinstance(v, str) and len(v.strip()) == 18 else v
        )
        if enterprises is not None:
            known = set(enterprises[C.ENTERPRISE_ID].astype(str))
            for i, eid in enumerate(frame[C.ENTERPRISE_ID]):
                if eid is not None and str(eid) not in known:
                    failures.append(
                        reject_record(
                            row=int(raw.rows[i]),
                            column=C.ENTERPRISE_ID,
                            value=eid,
                            reason="not a firm of the universe (import the firm first)",
                        )
                    )
    return frame, failures, counts, unmapped


def _strict(failures: list[dict[str, object]]) -> pd.DataFrame:
    """Every failure of a building import rejects its row (the import is all or nothing)."""
    rejects = _rejects_frame(failures)
    rejects[C.REJECT_ACTION] = C.ACTION_ROW_REJECTED
    return rejects


def _with_rejects(result: LoadResult, extra: Sequence[dict[str, object]]) -> LoadResult:
    if not extra:
        return result
    rejects = pd.concat([result.rejects, _strict(list(extra))], ignore_index=True)
    rejects = rejects.sort_values([C.REJECT_ROW, C.REJECT_COLUMN], kind="stable")
    result.rejects = rejects.reset_index(drop=True)
    return result


def _sheet(path: Path, table: str) -> RawTable | None:
    """The workbook's sheet for ``table`` (by one of its names), or None if it has none."""
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        names = list(workbook.sheetnames)
    finally:
        workbook.close()
    for wanted in SHEETS[table]:
        if wanted in names:
            return read_excel(path, sheet=wanted)
    if table == "park_buildings":
        return read_excel(path)  # a workbook of one sheet: the buildings
    return None


def _validated(
    frame: pd.DataFrame,
    *,
    table: str,
    raw: RawTable,
    source: Path,
    failures: list[dict[str, object]],
    unmapped: list[str],
    counts: Counter[str],
) -> tuple[LoadResult, np.ndarray]:
    """The schema's verdict on a prepared sheet, every failure a row rejection, and the source
    row of each record left in the frame (for the checks across tables)."""
    result = validate_table(
        frame,
        table=table,
        rows=raw.rows,
        source=source,
        prior_rejects=pd.concat([raw.malformed, _strict(failures)], ignore_index=True),
        normalisations=counts,
        unmapped_columns=unmapped,
        source_rows=len(raw.frame) + len(raw.malformed),
    )
    dropped = result.rejects[C.REJECT_ACTION] == C.ACTION_ROW_REJECTED
    rejected_rows = set(result.rejects.loc[dropped, C.REJECT_ROW].astype(int))
    kept = raw.rows[~np.isin(raw.rows, list(rejected_rows))]
    result.rejects[C.REJECT_ACTION] = C.ACTION_ROW_REJECTED  # all or nothing: no value cleared
    return result, kept


def import_space(
    buildings: Path,
    *,
    park: Park,
    chains: Mapping[str, Chain],
    as_of: date,
    supply: Path | None = None,
    tenants: Path | None = None,
    enterprises: pd.DataFrame | None = None,
) -> SpaceImport:
    """Read the park's carriers from an officer's sheet (module doc) and validate every table,
    within and across tables. ``buildings`` is a workbook (its 载体 / 新增面积 / 入驻企业 sheets)
    or a CSV of the buildings, with ``supply`` and ``tenants`` files beside it; ``enterprises``
    (the universe's) lets a tenant be checked against the firms held."""
    is_workbook = buildings.suffix.lower() in {".xlsx", ".xlsm"}
    raw_b = _sheet(buildings, "park_buildings") if is_workbook else read_raw(buildings)
    assert raw_b is not None
    frame_b, fail_b, counts, unmapped_b = prepare_buildings(
        raw_b, park=park, chains=chains, as_of=as_of
    )
    # the other sheets refer to the buildings as the sheet names them, rejected or not
    named = frame_b[[c for c in (C.BUILDING_ID, C.NAME) if c in frame_b]].dropna()
    result_b, rows_b = _validated(
        frame_b,
        table="park_buildings",
        raw=raw_b,
        source=buildings,
        failures=fail_b,
        unmapped=unmapped_b,
        counts=counts,
    )
    results = {"park_buildings": result_b}
    kept_rows = {"park_buildings": rows_b}
    for table, given in (("building_supply", supply), ("building_tenants", tenants)):
        raw: RawTable | None
        if given is not None:
            raw = read_raw(given)
        elif is_workbook:
            raw = _sheet(buildings, table)
        else:
            raw = None
        if raw is None:
            continue
        if table == "building_supply":
            frame, failures, more, unmapped = prepare_supply(raw, park=park, buildings=named)
        else:
            frame, failures, more, unmapped = prepare_tenants(
                raw, park=park, buildings=named, enterprises=enterprises
            )
        counts.update(more)
        results[table], kept_rows[table] = _validated(
            frame,
            table=table,
            raw=raw,
            source=given or buildings,
            failures=failures,
            unmapped=unmapped,
            counts=counts,
        )
    cross = space_rejects(
        buildings=results["park_buildings"].frame,
        supply=results["building_supply"].frame if "building_supply" in results else None,
        tenants=results["building_tenants"].frame if "building_tenants" in results else None,
        rows=kept_rows,
    )
    for table, extra in cross.items():
        if table in results and extra:
            results[table] = _with_rejects(results[table], extra)
    return SpaceImport(park_id=park.id, results=results, normalisations=counts)


# --------------------------------------------------------------------------------------------
# area on a day, and the checks across tables


def _days(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")


def area_over_time(
    *,
    buildings: pd.DataFrame,
    supply: pd.DataFrame,
    tenants: pd.DataFrame,
    days: pd.DatetimeIndex,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(available, occupied)``: building × day frames of lettable area (module doc), for the
    given days (ends of quarters, say); free = available − occupied."""
    ids = buildings[C.BUILDING_ID].astype(str).to_numpy()
    at = days.to_numpy(dtype="datetime64[ns]")
    index = pd.Index(ids, name=C.BUILDING_ID)
    pos = {b: i for i, b in enumerate(ids)}
    occupied = np.zeros((len(ids), len(at)))
    if len(tenants):
        t_b = tenants[C.BUILDING_ID].astype(str).map(pos)
        keep = t_b.notna().to_numpy()
        rows = t_b[keep].astype(int).to_numpy()
        area = tenants.loc[keep, C.AREA].astype(float).to_numpy()
        since = _days(tenants.loc[keep, C.SINCE])
        until = _days(tenants.loc[keep, C.UNTIL])
        present = (since[:, None] <= at[None, :]) & (
            np.isnat(until)[:, None] | (until[:, None] > at[None, :])
        )
        np.add.at(occupied, rows, present * area[:, None])
    free_on = _days(buildings[C.FREE_ON])
    # occupied on each building's own counting day
    occ_at_count = np.zeros(len(ids))
    if len(tenants):
        present0 = (since <= free_on[rows]) & (np.isnat(until) | (until > free_on[rows]))
        np.add.at(occ_at_count, rows, present0 * area)
    available = np.repeat(
        (occ_at_count + buildings[C.FREE_AREA].astype(float).to_numpy())[:, None], len(at), axis=1
    )
    if len(supply):
        s_b = supply[C.BUILDING_ID].astype(str).map(pos)
        keep_s = s_b.notna().to_numpy()
        rows_s = s_b[keep_s].astype(int).to_numpy()
        area_s = supply.loc[keep_s, C.AREA].astype(float).to_numpy()
        on = _days(supply.loc[keep_s, C.AVAILABLE_ON])
        counted = free_on[rows_s]
        later = (on > counted)[:, None] & (on[:, None] <= at[None, :])
        earlier = (on <= counted)[:, None] & (on[:, None] > at[None, :])
        np.add.at(available, rows_s, (later.astype(float) - earlier) * area_s[:, None])
    return (
        pd.DataFrame(available, index=index, columns=days),
        pd.DataFrame(occupied, index=index, columns=days),
    )


def space_rejects(
    *,
    buildings: pd.DataFrame,
    supply: pd.DataFrame | None,
    tenants: pd.DataFrame | None,
    rows: Mapping[str, np.ndarray],
) -> dict[str, list[dict[str, object]]]:
    """The checks across columns and tables (module doc), as reject records per table, each on
    the source row (``rows``: the source row of every record of the frames given)."""
    out: dict[str, list[dict[str, object]]] = {t: [] for t in SPACE_TABLES}
    row_b = rows.get("park_buildings", np.arange(2, len(buildings) + 2))
    b = buildings.reset_index(drop=True)
    floor = b[C.FLOOR_AREA].astype(float).to_numpy()
    lettable = b[C.LETTABLE_AREA].astype(float).to_numpy()
    free_now = b[C.FREE_AREA].astype(float).to_numpy()
    low = b[C.RENT_LOW].astype(float).to_numpy()
    high = b[C.RENT_HIGH].astype(float).to_numpy()
    for i in range(len(b)):
        r = int(row_b[i])
        if lettable[i] > floor[i] + AREA_TOLERANCE_M2:
            out["park_buildings"].append(
                reject_record(
                    row=r,
                    column=C.LETTABLE_AREA,
                    value=lettable[i],
                    reason=f"lettable area exceeds the floor area ({floor[i]:,.0f} m²)",
                )
            )
        if free_now[i] > lettable[i] + AREA_TOLERANCE_M2:
            out["park_buildings"].append(
                reject_record(
                    row=r,
                    column=C.FREE_AREA,
                    value=free_now[i],
                    reason=f"free area exceeds the lettable area ({lettable[i]:,.0f} m²)",
                )
            )
        if low[i] > high[i]:  # False when either is missing (NaN)
            out["park_buildings"].append(
                reject_record(
                    row=r,
                    column=C.RENT_HIGH,
                    value=high[i],
                    reason=f"rent band runs backwards (low {low[i]} > high {high[i]})",
                )
            )
    s = supply.reset_index(drop=True) if supply is not None else _empty("building_supply")
    t = tenants.reset_index(drop=True) if tenants is not None else _empty("building_tenants")
    row_t = rows.get("building_tenants", np.arange(2, len(t) + 2))
    if len(t):
        since, until = _days(t[C.SINCE]), _days(t[C.UNTIL])
        backwards = ~np.isnat(until) & (until <= since)
        for k in np.flatnonzero(backwards):
            out["building_tenants"].append(
                reject_record(
                    row=int(row_t[k]),
                    column=C.UNTIL,
                    value=str(pd.Timestamp(until[k]).date()),
                    reason=f"moved out before moving in ({pd.Timestamp(since[k]).date()})",
                )
            )
    if not len(b):
        return out
    # no day on which a building lets more than it has, nor holds more than its lettable area
    days = pd.DatetimeIndex(
        sorted(
            set(_days(b[C.FREE_ON]).tolist())
            | set(_days(s[C.AVAILABLE_ON]).tolist())
            | set(_days(t[C.SINCE]).tolist())
        )
    )
    available_f, occupied_f = area_over_time(buildings=b, supply=s, tenants=t, days=days)
    available, occupied = available_f.to_numpy(), occupied_f.to_numpy()
    free = available - occupied
    day_values = days.to_numpy()
    counted = _days(b[C.FREE_ON])
    ids = b[C.BUILDING_ID].astype(str).to_numpy()
    for i, bid in enumerate(ids):
        later = day_values >= counted[i]
        short = np.flatnonzero(later & (free[i] < -AREA_TOLERANCE_M2))
        over = np.flatnonzero(later & (available[i] > lettable[i] + AREA_TOLERANCE_M2))
        if len(short):
            at_k = int(short[0])
            day = pd.Timestamp(day_values[at_k]).date()
            out["building_tenants" if len(t) else "park_buildings"].append(
                reject_record(
                    row=_first_tenant_row(t, row_t, bid, day_values[at_k])
                    if len(t)
                    else int(row_b[i]),
                    column=C.AREA,
                    value=f"{occupied[i, at_k]:,.0f}",
                    reason=f"{bid}: on {day} its tenants lease {occupied[i, at_k]:,.0f} m² "
                    f"but only {available[i, at_k]:,.0f} m² is there to let",
                )
            )
        if len(over):
            at_k = int(over[0])
            day = pd.Timestamp(day_values[at_k]).date()
            out["park_buildings"].append(
                reject_record(
                    row=int(row_b[i]),
                    column=C.LETTABLE_AREA,
                    value=lettable[i],
                    reason=f"on {day} its leased, free and added area come to "
                    f"{available[i, at_k]:,.0f} m², more than its lettable area",
                )
            )
    return out


def _first_tenant_row(t: pd.DataFrame, rows: np.ndarray, bid: str, day: np.datetime64) -> int:
    """The row of the tenant of ``bid`` that moved in last on or before ``day`` (the one that
    overfilled it)."""
    since = _days(t[C.SINCE])
    mine = np.flatnonzero((t[C.BUILDING_ID].astype(str).to_numpy() == bid) & (since <= day))
    if not len(mine):
        return int(rows[0])
    return int(rows[mine[np.argmax(since[mine])]])


def _empty(table: str) -> pd.DataFrame:
    from data.universe import typed_empty_table

    return typed_empty_table(table)


def write_space(result: SpaceImport, out: Path) -> dict[str, Path]:
    """Write the import into the universe folder ``out``: the park's rows of each space table
    replaced (other parks' rows kept), and ``rejects/<table>.csv``. An import with any failing
    cell writes only its rejects files and raises ``SpaceImportRefused`` naming the first rows."""
    from data.loaders import write_rejects

    out.mkdir(parents=True, exist_ok=True)
    written = {t: write_rejects(r, out) for t, r in result.results.items()}
    if not result.ok:
        failed = sum(r.rejected for r in result.results.values())
        raise SpaceImportRefused(
            f"the park's space was not imported: {failed} row(s) fail, nothing written but "
            f"{out / 'rejects'}; first: " + "; ".join(result.first_failures())
        )
    frames = {}
    for table in SPACE_TABLES:
        path = out / f"{table}.parquet"
        held = pd.read_parquet(path) if path.exists() else _empty(table)
        others = held[held[C.PARK_ID].astype(str) != result.park_id]
        mine = result.results[table].frame if table in result.results else _empty(table)
        frames[table] = pd.concat([others, mine[list(column_order(table))]], ignore_index=True)
    # every table prepared before any is replaced; each replacement is atomic
    for table, frame in frames.items():
        written[f"{table}.parquet"] = write_parquet(frame, out / f"{table}.parquet")
    return written
