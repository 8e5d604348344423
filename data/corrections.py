"""Strategists' corrections of chain attachment, applied over the attacher at every load.

A **correction** (``LinkCorrection``) is one decision of a person about one firm, made for one
park: ``park_id``, ``enterprise_id``, ``action``, ``link_id``, ``to_link_id``, ``note``,
``corrected_by`` (a username) and ``corrected_at``. Actions:

- ``confirm`` L — the firm works in L. A link the attacher found keeps its share; a link it did
  not find is added, weighing as much as the firm's strongest link (a person names a main
  business, not a side line, and gives no revenue figure to weigh it by).
- ``move`` L → M — L is wrong and M is right: L's weight goes to M (added to M's own if the
  attacher found M too). A move from a link the firm no longer has adds M as ``confirm`` would.
- ``remove`` L — L is wrong; the firm's other links share its weight.
- ``outside`` — the firm works in none of the park's chains: every link of those chains goes.
  (A park speaks only about its own chains: Shibei's curators do not decide Nantong's.)
- ``restore`` L (or no link) — **undo**: withdraws the firm's earlier corrections in this park
  about L (those naming L as ``link_id`` or ``to_link_id``), or all of them when no link is given,
  so the attacher's answer comes back (a restore of one link leaves an ``outside`` in force: undo
  that with a restore naming no link). An undo is itself a correction, kept and audited like any
  other; nothing is ever deleted.

**Application** (``apply_corrections``, the one function every reader of ``enterprise_links``
goes through — ``data.universe.load_universe(..., corrections=...)`` calls it): corrections are
taken in time order (``corrected_at``, then ``correction_id``, then their order given); restores
withdraw what they undo; the rest are applied in order to the attacher's rows of each firm, so
the latest decision about a firm and a link wins (confirm then remove → removed; outside then
confirm M → M alone). A firm's remaining weights are renormalised to shares summing to 1, as the
attacher normalises its kept strengths. A link a correction decided is shown as
``evidence_kind`` = ``manual`` (人工校核), ``evidence`` = "<username> <date>" and the note,
``confidence`` = 1.0; the attacher's other links of that firm keep their evidence. Firms without
corrections are returned untouched. Applying the same corrections to links they were already
applied to gives the same links (the operations set states, they do not accumulate).

**Validation** (``correction_problems``, at entry: the API, the CLI and the CSV import): an
unknown park, an unknown firm, an unknown link, a link of a chain that is not the park's, a
move without a target or to the link it leaves, a link given to ``outside`` — each a
``(field, reason)``. At load, a stored correction whose firm is not in the universe (or whose
link the chains no longer have) is not applied and is counted in ``CorrectedLinks.skipped``;
it stays stored.

**CSV** (``read_corrections_csv``): a header and one correction a row, the columns of
``CORRECTION_COLUMNS`` (``park_id``, ``corrected_by``, ``corrected_at`` may be left out and come
from the importer: the park served and the person importing, now). Every bad cell is a rejects
record (``data.loaders.reject_record``: the file's line, header = line 1, the column, the value,
the reason); a file with any reject is refused whole — nothing is half-applied. A time without a
zone is taken as UTC.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data import columns as C
from data.loaders import DataFileError, read_csv, reject_record
from data.reference import Chain, Park, chain_of, default_chains, default_parks

CorrectionAction = Literal["confirm", "move", "remove", "outside", "restore"]
CORRECTION_ACTIONS: Final = get_args(CorrectionAction)
# each action's label (zh, en), for pages, the CLI and the audit
ACTION_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "confirm": ("确认", "Confirm"),
    "move": ("改挂", "Move"),
    "remove": ("移除", "Remove"),
    "outside": ("不属任何产业链", "Outside every chain"),
    "restore": ("撤销校核", "Restore the attacher's answer"),
}
KIND_MANUAL: Final = "manual"
MANUAL_LABEL: Final = ("人工校核", "manual review")
MANUAL_CONFIDENCE: Final = 1.0
MAX_NOTE_CHARS: Final = 2000
CORRECTION_COLUMNS: Final = (
    C.PARK_ID,
    C.ENTERPRISE_ID,
    C.CORRECTION_ACTION,
    C.LINK_ID,
    C.TO_LINK_ID,
    C.NOTE,
    C.CORRECTED_BY,
    C.CORRECTED_AT,
)
_NEEDS_LINK: Final = frozenset({"confirm", "move", "remove"})


class LinkCorrection(BaseModel):
    """One person's decision about one firm's links in one park (see the module docstring)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    park_id: str = Field(min_length=1)
    enterprise_id: str = Field(min_length=1)
    action: CorrectionAction
    link_id: str | None = None
    to_link_id: str | None = None
    note: str = Field(default="", max_length=MAX_NOTE_CHARS)
    corrected_by: str = Field(min_length=1)
    corrected_at: datetime
    # the service database's id: orders corrections made in the same instant
    correction_id: int | None = None

    @field_validator("corrected_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        # naive times are UTC, so that every comparison between corrections is defined
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    @model_validator(mode="after")
    def _shape(self) -> LinkCorrection:
        if self.action in _NEEDS_LINK and not self.link_id:
            raise _FieldError("link_id", f"{self.action} needs the link it is about")
        if self.action == "outside" and self.link_id:
            raise _FieldError("link_id", "outside is about the firm, not a link: leave it empty")
        if self.action == "move":
            if not self.to_link_id:
                raise _FieldError("to_link_id", "move needs the link the firm moves to")
            if self.to_link_id == self.link_id:
                raise _FieldError("to_link_id", "move to the link it leaves")
        elif self.to_link_id:
            raise _FieldError("to_link_id", f"only a move has a target link, not {self.action}")
        return self

    def links(self) -> tuple[str, ...]:
        """The links this correction is about (``link_id`` and a move's ``to_link_id``)."""
        return tuple(link for link in (self.link_id, self.to_link_id) if link)

    def evidence(self) -> str:
        """``evidence`` of a link this correction decided: who, on which day, and the note."""
        day = self.corrected_at.astimezone(UTC).date().isoformat()
        return f"{self.corrected_by} {day}" + (f"：{self.note}" if self.note else "")


class _FieldError(ValueError):
    """A shape rule broken by one field (pydantic reports it under that field's name)."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


class CorrectionError(ValueError):
    """A correction is invalid; ``field`` names the field, ``row`` the line of its file (or its
    position in a list, from 1) when known."""

    def __init__(self, field_name: str, reason: str, *, row: int | None = None) -> None:
        where = f"row {row}: " if row is not None else ""
        super().__init__(f"{where}{field_name}: {reason}")
        self.field = field_name
        self.reason = reason
        self.row = row


def parse_correction(raw: Mapping[str, object]) -> LinkCorrection:
    """A ``LinkCorrection`` from plain values (a JSON body, a CSV row: an ISO time string is
    read as a time); a bad value is a ``CorrectionError`` naming its field."""
    try:
        return LinkCorrection.model_validate(dict(raw), strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        ctx = first.get("ctx") or {}
        error = ctx.get("error")
        if isinstance(error, _FieldError):
            raise CorrectionError(error.field_name, error.reason) from exc
        where = ".".join(str(p) for p in first["loc"]) or "*"
        raise CorrectionError(where, str(first["msg"])) from exc


def park_chain_ids(park: Park) -> frozenset[str]:
    """The chains a park's curators may correct: the park's target chains."""
    return frozenset(target.id for target in park.chains)


def correction_problems(
    correction: LinkCorrection,
    *,
    parks: Mapping[str, Park],
    chains: Mapping[str, Chain],
    enterprise_ids: pd.Index | frozenset[str] | set[str] | None = None,
) -> list[tuple[str, str]]:
    """What is wrong with a well-formed correction in its context, as (field, reason): an
    unknown park, firm (when ``enterprise_ids`` is given) or link, or a link of a chain the park
    does not target. Empty when it may be stored."""
    problems: list[tuple[str, str]] = []
    park = parks.get(correction.park_id)
    if park is None:
        problems.append(
            (C.PARK_ID, f"unknown park {correction.park_id!r}; known: {', '.join(sorted(parks))}")
        )
    if enterprise_ids is not None and correction.enterprise_id not in enterprise_ids:
        problems.append((C.ENTERPRISE_ID, f"unknown firm {correction.enterprise_id!r}"))
    known = {link.id for chain in chains.values() for link in chain.links}
    for name, link_id in ((C.LINK_ID, correction.link_id), (C.TO_LINK_ID, correction.to_link_id)):
        if not link_id:
            continue
        if link_id not in known:
            problems.append((name, f"unknown link {link_id!r}"))
        elif park is not None and chain_of(link_id) not in park_chain_ids(park):
            problems.append(
                (
                    name,
                    f"{link_id!r} is a link of chain {chain_of(link_id)!r}, not one of park "
                    f"{park.id}'s chains ({', '.join(sorted(park_chain_ids(park)))})",
                )
            )
    return problems


def validate_corrections(
    corrections: Sequence[LinkCorrection],
    *,
    parks: Mapping[str, Park] | None = None,
    chains: Mapping[str, Chain] | None = None,
    enterprise_ids: pd.Index | frozenset[str] | set[str] | None = None,
) -> None:
    """Raise ``CorrectionError`` at the first correction with a problem (its ``row`` is its
    position, from 1); return quietly when all may be stored."""
    parks = default_parks() if parks is None else parks
    chains = default_chains() if chains is None else chains
    for position, correction in enumerate(corrections, start=1):
        problems = correction_problems(
            correction, parks=parks, chains=chains, enterprise_ids=enterprise_ids
        )
        if problems:
            raise CorrectionError(*problems[0], row=position)


@dataclass(frozen=True)
class CorrectedLinks:
    """``enterprise_links`` with corrections applied, and what became of the corrections."""

    links: pd.DataFrame
    applied: int  # corrections in effect (after restores withdrew what they undo)
    withdrawn: int  # corrections a later restore withdrew (and the restores themselves)
    firms: int  # firms whose links a correction decided
    skipped: tuple[tuple[LinkCorrection, str], ...] = ()  # not applicable here, with the reason

    def summary(self) -> dict[str, object]:
        """Counts for a load or import report."""
        reasons = Counter(reason for _, reason in self.skipped)
        return {
            "corrections_applied": self.applied,
            "corrections_withdrawn": self.withdrawn,
            "firms_corrected": self.firms,
            "corrections_skipped": dict(sorted(reasons.items())),
        }


@dataclass
class _Row:
    weight: float
    kind: object
    evidence: object
    confidence: object


def in_effect(corrections: Sequence[LinkCorrection]) -> tuple[list[LinkCorrection], int]:
    """The corrections in effect, in time order, after each ``restore`` withdrew the firm's
    earlier corrections it undoes; and how many were withdrawn (restores included)."""
    order = sorted(
        range(len(corrections)),
        key=lambda i: (
            corrections[i].corrected_at,
            corrections[i].correction_id if corrections[i].correction_id is not None else -1,
            i,
        ),
    )
    active: dict[tuple[str, str], list[LinkCorrection]] = defaultdict(list)
    withdrawn = 0
    for i in order:
        c = corrections[i]
        key = (c.park_id, c.enterprise_id)
        if c.action != "restore":
            active[key].append(c)
            continue
        before = active[key]
        kept = [e for e in before if c.link_id is not None and c.link_id not in e.links()]
        withdrawn += len(before) - len(kept) + 1
        active[key] = kept
    timeline = [c for group in active.values() for c in group]
    position = {id(corrections[i]): rank for rank, i in enumerate(order)}
    timeline.sort(key=lambda c: position[id(c)])
    return timeline, withdrawn


def _apply_firm(
    rows: dict[str, _Row],
    corrections: Iterable[LinkCorrection],
    scopes: Mapping[str, frozenset[str]],
) -> dict[str, _Row]:
    for c in corrections:
        manual = (KIND_MANUAL, c.evidence(), MANUAL_CONFIDENCE)
        strongest = max((r.weight for r in rows.values()), default=1.0)
        if c.action == "outside":
            scope = scopes[c.park_id]
            rows = {link: r for link, r in rows.items() if chain_of(link) not in scope}
        elif c.action == "remove":
            rows.pop(str(c.link_id), None)
        elif c.action == "confirm":
            link = str(c.link_id)
            weight = rows[link].weight if link in rows else strongest
            rows[link] = _Row(weight, *manual)
        elif c.action == "move":
            moved = rows.pop(str(c.link_id), None)
            target = str(c.to_link_id)
            own = rows[target].weight if target in rows else 0.0
            # a move from a link the attacher no longer finds is a confirm of the target
            gained = moved.weight if moved is not None else (0.0 if own else strongest)
            rows[target] = _Row(own + gained, *manual)
    return rows


def apply_corrections(
    *,
    links: pd.DataFrame,
    corrections: Sequence[LinkCorrection],
    enterprise_ids: Iterable[str] | None = None,
    parks: Mapping[str, Park] | None = None,
    chains: Mapping[str, Chain] | None = None,
) -> CorrectedLinks:
    """``links`` (the attacher's ``enterprise_links``) with ``corrections`` applied (see the
    module docstring). ``enterprise_ids``: the universe's firms; a correction of another firm
    is skipped (and counted), as is one naming a park or link the reference files no longer
    have. ``links`` is not changed."""
    parks = default_parks() if parks is None else parks
    chains = default_chains() if chains is None else chains
    known_links = {link.id for chain in chains.values() for link in chain.links}
    firms = (
        None
        if enterprise_ids is None
        else (enterprise_ids if isinstance(enterprise_ids, pd.Index) else pd.Index(enterprise_ids))
    )
    skipped: list[tuple[LinkCorrection, str]] = []
    usable: list[LinkCorrection] = []
    for c in corrections:
        if c.park_id not in parks:
            skipped.append((c, "unknown park"))
        elif firms is not None and c.enterprise_id not in firms:
            skipped.append((c, "firm not in this universe"))
        elif any(link not in known_links for link in c.links()):
            skipped.append((c, "link no longer in the chains"))
        else:
            usable.append(c)
    timeline, withdrawn = in_effect(usable)
    scopes = {park_id: park_chain_ids(park) for park_id, park in parks.items()}
    by_firm: dict[str, list[LinkCorrection]] = defaultdict(list)
    for c in timeline:
        by_firm[c.enterprise_id].append(c)
    missing = [c for c in (C.EVIDENCE_KIND, C.EVIDENCE, C.CONFIDENCE) if c not in links]
    # no copy of the whole table: the rows kept are taken into a new frame below anyway
    out = links.assign(**dict.fromkeys(missing)) if missing else links
    if not by_firm:
        return CorrectedLinks(out, applied=0, withdrawn=withdrawn, firms=0, skipped=tuple(skipped))
    ids = out[C.ENTERPRISE_ID].to_numpy(dtype=object)
    touched = pd.Index(ids).isin(list(by_firm))
    mine = out[touched]
    rows_of: dict[str, dict[str, _Row]] = defaultdict(dict)
    for eid, link, share, kind, evidence, confidence in zip(
        mine[C.ENTERPRISE_ID].tolist(),
        mine[C.LINK_ID].tolist(),
        mine[C.SHARE].tolist(),
        mine[C.EVIDENCE_KIND].tolist(),
        mine[C.EVIDENCE].tolist(),
        mine[C.CONFIDENCE].tolist(),
        strict=True,
    ):
        rows_of[eid][link] = _Row(float(share), kind, evidence, confidence)
    new_rows: list[dict[str, object]] = []
    for eid, group in by_firm.items():
        decided = _apply_firm(dict(rows_of.get(eid, {})), group, scopes)
        total = sum(r.weight for r in decided.values())
        for link, r in sorted(decided.items(), key=lambda item: (-item[1].weight, item[0])):
            new_rows.append(
                {
                    C.ENTERPRISE_ID: eid,
                    C.LINK_ID: link,
                    C.SHARE: r.weight / total,
                    C.EVIDENCE_KIND: r.kind,
                    C.EVIDENCE: r.evidence,
                    C.CONFIDENCE: r.confidence,
                }
            )
    added = pd.DataFrame(new_rows, columns=[C.ENTERPRISE_ID, *out.columns.drop(C.ENTERPRISE_ID)])
    kept = out[~touched]
    merged = pd.concat(
        [kept, added.astype(kept.dtypes.to_dict(), errors="ignore")], ignore_index=True
    )
    # the firms' order as the attacher gave it (new firms last), the largest share first
    first_seen = pd.Index(pd.unique(ids))
    firm_rank = first_seen.get_indexer(merged[C.ENTERPRISE_ID].to_numpy(dtype=object))
    firm_rank = np.where(firm_rank < 0, len(first_seen), firm_rank)
    order = np.lexsort((-merged[C.SHARE].to_numpy(dtype=np.float64), firm_rank))
    merged = merged.iloc[order].reset_index(drop=True)
    merged[C.SHARE] = merged[C.SHARE].astype(np.float64)
    return CorrectedLinks(
        merged[list(out.columns)],
        applied=len(timeline),
        withdrawn=withdrawn,
        firms=len(by_firm),
        skipped=tuple(skipped),
    )


def correction_effect(
    correction: LinkCorrection,
    *,
    links: pd.DataFrame,
    earlier: Sequence[LinkCorrection],
    parks: Mapping[str, Park] | None = None,
    chains: Mapping[str, Chain] | None = None,
) -> tuple[str, str]:
    """What ``correction`` changes of its firm, as ("from", "to") texts for the audit
    (``link:share`` joined by ``;``, or ``none``): the firm's attacher ``links`` under the
    ``earlier`` corrections, then with this one added."""
    own = links[links[C.ENTERPRISE_ID] == correction.enterprise_id]
    mine = [c for c in earlier if c.enterprise_id == correction.enterprise_id]

    def shown(corrections: Sequence[LinkCorrection]) -> str:
        out = apply_corrections(links=own, corrections=corrections, parks=parks, chains=chains)
        rows = zip(out.links[C.LINK_ID].tolist(), out.links[C.SHARE].tolist(), strict=True)
        return ";".join(f"{link}:{share:.2f}" for link, share in rows) or "none"

    return shown(mine), shown([*mine, correction])


@dataclass(frozen=True)
class CorrectionsImport:
    """A CSV of corrections: all of them when every row is valid, else none and the rejects."""

    source: Path
    corrections: tuple[LinkCorrection, ...]
    rejects: pd.DataFrame
    rows: int  # corrections in the file
    rows_rejected: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        """Whether the file may be applied (no row was rejected)."""
        return self.rejects.empty


def read_corrections_csv(
    path: Path,
    *,
    park_id: str,
    corrected_by: str,
    corrected_at: datetime | None = None,
    parks: Mapping[str, Park] | None = None,
    chains: Mapping[str, Chain] | None = None,
    enterprise_ids: pd.Index | frozenset[str] | set[str] | None = None,
) -> CorrectionsImport:
    """Read and validate a CSV of corrections (columns ``CORRECTION_COLUMNS``; ``park_id``,
    ``corrected_by`` and ``corrected_at`` default to the given importer's values). Every bad
    cell is a rejects record with its line; any reject refuses the whole file."""
    parks = default_parks() if parks is None else parks
    chains = default_chains() if chains is None else chains
    raw = read_csv(path)
    header = list(raw.frame.columns)
    required = [C.ENTERPRISE_ID, C.CORRECTION_ACTION]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataFileError(f"{path}: missing required column(s): {', '.join(missing)}")
    unknown = [c for c in header if c not in CORRECTION_COLUMNS]
    if unknown:
        raise DataFileError(
            f"{path}: unknown column(s) {', '.join(unknown)}; "
            f"the columns are {', '.join(CORRECTION_COLUMNS)}"
        )
    now = corrected_at or datetime.now(UTC)
    defaults: dict[str, object] = {
        C.PARK_ID: park_id,
        C.CORRECTED_BY: corrected_by,
        C.CORRECTED_AT: now,
        C.NOTE: "",
    }
    rejects: list[dict[str, object]] = [
        {str(k): v for k, v in r.items()} for r in raw.malformed.to_dict("records")
    ]
    found: list[LinkCorrection] = []
    for row, record in zip(raw.rows.tolist(), raw.frame.to_dict("records"), strict=True):
        values = {str(k): v for k, v in record.items() if v is not None}
        values = {**{k: v for k, v in defaults.items() if k not in values}, **values}
        try:
            correction = parse_correction(values)
        except CorrectionError as exc:
            column = exc.field if exc.field in header or exc.field in defaults else "*"
            rejects.append(
                reject_record(
                    row=int(row), column=column, value=values.get(exc.field), reason=exc.reason
                )
            )
            continue
        for column, reason in correction_problems(
            correction, parks=parks, chains=chains, enterprise_ids=enterprise_ids
        ):
            rejects.append(
                reject_record(row=int(row), column=column, value=values.get(column), reason=reason)
            )
        found.append(correction)
    frame = pd.DataFrame(rejects, columns=list(C.REJECT_COLUMNS))
    frame = frame.sort_values([C.REJECT_ROW, C.REJECT_COLUMN], kind="stable").reset_index(drop=True)
    rejected_rows = int(frame[C.REJECT_ROW].nunique()) if len(frame) else 0
    reasons = Counter(
        f"{c}: {r}" for c, r in zip(frame[C.REJECT_COLUMN], frame[C.REJECT_REASON], strict=True)
    )
    return CorrectionsImport(
        source=path,
        corrections=tuple(found) if frame.empty else (),
        rejects=frame,
        rows=len(raw.frame) + len(raw.malformed),
        rows_rejected=rejected_rows,
        reasons=dict(reasons.most_common(10)),
    )


def corrections_frame(corrections: Sequence[LinkCorrection]) -> pd.DataFrame:
    """Corrections as a table with the CSV's columns (what ``attract links export`` writes;
    ``read_corrections_csv`` reads it back to the same corrections)."""
    return pd.DataFrame(
        {
            C.PARK_ID: [c.park_id for c in corrections],
            C.ENTERPRISE_ID: [c.enterprise_id for c in corrections],
            C.CORRECTION_ACTION: [c.action for c in corrections],
            C.LINK_ID: [c.link_id or "" for c in corrections],
            C.TO_LINK_ID: [c.to_link_id or "" for c in corrections],
            C.NOTE: [c.note for c in corrections],
            C.CORRECTED_BY: [c.corrected_by for c in corrections],
            C.CORRECTED_AT: [c.corrected_at.isoformat() for c in corrections],
        },
        columns=list(CORRECTION_COLUMNS),
    )


def write_corrections_csv(corrections: Sequence[LinkCorrection], path: Path) -> Path:
    """Write ``corrections`` as a CSV that ``read_corrections_csv`` accepts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    corrections_frame(corrections).to_csv(path, index=False, encoding="utf-8")
    return path
