"""Leads are firms the park can still win: why a firm is not offered in a lead list.

``not_leads`` reads the universe's ``park_roster`` and ``outreach`` history, the pipeline's lead
states and the park YAML's cool-off, and says of each firm it finds why it is no lead — one row
per (firm, track, reason), a firm may have several:

- ``member``: on the park's ``park_roster`` — every track, since ``entered_on``;
- ``paying`` / ``landed``: a pipeline lead at that stage — every track, since ``stage_since``;
- ``signed``: a pipeline lead at ``signed`` (since ``stage_since``) or an outreach record of the
  park that ``signed`` (since ``closed_on``, else ``contacted_on``) — every track;
- ``open_in_pipeline``: a pipeline lead at an open stage before ``signed`` — every track, since
  ``stage_since``;
- ``declined_recently``: the firm's latest decline on a track fell less than
  ``lead_exclusions.declined_cooloff_days`` (park YAML) before ``today`` — an outreach record
  ``declined`` (on its ``closed_on``, else ``contacted_on``) or a pipeline lead ``lost`` (on its
  ``stage_since``; not when its ``lost_reason`` says it never answered) — that track, since
  the day it declined.

Why these tracks: a firm the park has won, or is working, is one relation with the park whatever
the track (offering it on another list sends a second officer to a firm already in talks or
already here); a decline answers one track's pitch (a regional HQ is another offer than a
business unit), and lasts the cool-off. Stages come from ``data.pipeline``. Training still
learns from all of these firms: this only shapes what a list offers.

``REASONS`` is the order of strength: the first of a firm's reasons is the one a page shows.
``excluded_ids`` turns the table into the set of ids a track's list leaves out, bringing back
the groups an officer asks for.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Final

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing.pandas import Series

from data import columns as C
from data.pipeline import LANDED, LOST, LOST_OUTCOME, OPEN_STAGES, PAYING, SIGNED, STAGES
from data.reference import Park

REASONS: Final = (
    "member",
    "paying",
    "landed",
    "signed",
    "open_in_pipeline",
    "declined_recently",
)
EXCLUSION_COLUMNS: Final = (C.ENTERPRISE_ID, C.TRACK, "reason", "since")
STAGE: Final = "stage"
STAGE_SINCE: Final = "stage_since"
LOST_REASON: Final = "lost_reason"
PIPELINE_STATE_COLUMNS: Final = (C.ENTERPRISE_ID, C.TRACK, STAGE, STAGE_SINCE)


class PipelineStates(pa.DataFrameModel):
    """The pipeline's leads of one park as they stand: firm, track, stage and since when
    (``lost_reason`` optional)."""

    enterprise_id: Series[str] = pa.Field(nullable=False)
    track: Series[str] = pa.Field(nullable=False)
    stage: Series[str] = pa.Field(nullable=False, isin=list(STAGES))
    stage_since: Series[pa.DateTime] = pa.Field(nullable=False)

    class Config:
        coerce = True
        strict = False


def _check(frame: pd.DataFrame, name: str, columns: Collection[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


def _pipeline_states(pipeline: pd.DataFrame) -> pd.DataFrame:
    _check(pipeline, "pipeline", PIPELINE_STATE_COLUMNS)
    frame = pipeline.copy()
    # a time with a zone is a UTC instant: its day in UTC; a naive one is taken as given
    since = pd.to_datetime(frame[STAGE_SINCE], errors="coerce", utc=True)
    frame[STAGE_SINCE] = since.dt.tz_localize(None)
    try:
        return PipelineStates.validate(frame, lazy=True)
    except SchemaErrors as exc:
        first = exc.failure_cases.iloc[0]
        raise ValueError(
            f"pipeline.{first['column']}: {first['failure_case']!r} (row {first['index']}) "
            f"fails {first['check']}"
        ) from exc


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce").dt.normalize()


def not_leads(
    *,
    park: Park,
    park_roster: pd.DataFrame,
    outreach: pd.DataFrame,
    pipeline: pd.DataFrame | None,
    today: date,
) -> pd.DataFrame:
    """Why each firm is not a lead of ``park`` on ``today`` (module docstring): columns
    ``EXCLUSION_COLUMNS`` (``track`` None = every track), one row per firm, track and reason,
    ordered by firm and ``REASONS``."""
    _check(park_roster, "park_roster", (C.PARK_ID, C.ENTERPRISE_ID, C.ENTERED_ON))
    _check(
        outreach,
        "outreach",
        (C.PARK_ID, C.ENTERPRISE_ID, C.TRACK, C.OUTCOME, C.CONTACTED_ON, C.CLOSED_ON),
    )
    cooloff = park.lead_exclusions.declined_cooloff_days
    start = pd.Timestamp(today - timedelta(days=cooloff))
    parts: list[pd.DataFrame] = []

    def add(ids: pd.Series, track: pd.Series | None, reason: str, since: pd.Series) -> None:
        parts.append(
            pd.DataFrame(
                {
                    C.ENTERPRISE_ID: ids.astype(str).to_numpy(),
                    C.TRACK: (
                        track.astype(object).to_numpy() if track is not None else [None] * len(ids)
                    ),
                    "reason": reason,
                    "since": _day(since).dt.date.to_numpy(),
                }
            )
        )

    roster = park_roster[park_roster[C.PARK_ID] == park.id]
    add(roster[C.ENTERPRISE_ID], None, "member", roster[C.ENTERED_ON])

    history = outreach[outreach[C.PARK_ID] == park.id]
    answered = _day(history[C.CLOSED_ON]).fillna(_day(history[C.CONTACTED_ON]))
    signed = history[C.OUTCOME] == "signed"
    add(history.loc[signed, C.ENTERPRISE_ID], None, "signed", answered[signed])
    declines = [
        pd.DataFrame(
            {
                C.ENTERPRISE_ID: history.loc[history[C.OUTCOME] == "declined", C.ENTERPRISE_ID],
                C.TRACK: history.loc[history[C.OUTCOME] == "declined", C.TRACK],
                "on": answered[history[C.OUTCOME] == "declined"],
            }
        )
    ]

    if pipeline is not None and len(pipeline):
        states = _pipeline_states(pipeline)
        stage = states[STAGE]
        for reason, rows in (
            ("paying", stage == PAYING),
            ("landed", stage == LANDED),
            ("signed", stage == SIGNED),
            ("open_in_pipeline", stage.isin([s for s in OPEN_STAGES if s != SIGNED])),
        ):
            add(states.loc[rows, C.ENTERPRISE_ID], None, reason, states.loc[rows, STAGE_SINCE])
        lost = stage == LOST
        if LOST_REASON in states:
            # a lead that never answered did not decline (data.pipeline.LOST_OUTCOME)
            outcome = states[LOST_REASON].map(LOST_OUTCOME)
            lost &= outcome.isna() | (outcome == "declined")
        declines.append(
            pd.DataFrame(
                {
                    C.ENTERPRISE_ID: states.loc[lost, C.ENTERPRISE_ID],
                    C.TRACK: states.loc[lost, C.TRACK],
                    "on": _day(states.loc[lost, STAGE_SINCE]),
                }
            )
        )

    declined = pd.concat(declines, ignore_index=True).dropna(subset=["on"])
    if len(declined):
        latest = declined.groupby([C.ENTERPRISE_ID, C.TRACK], as_index=False)["on"].max()
        recent = latest[(latest["on"] > start) & (latest["on"] <= pd.Timestamp(today))]
        add(recent[C.ENTERPRISE_ID], recent[C.TRACK], "declined_recently", recent["on"])

    table = pd.concat(parts, ignore_index=True)
    table["_order"] = table["reason"].map(REASONS.index)
    table = (
        table.sort_values([C.ENTERPRISE_ID, "_order", "since"], kind="stable", na_position="last")
        .drop_duplicates([C.ENTERPRISE_ID, C.TRACK, "reason"], keep="first")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    return table[list(EXCLUSION_COLUMNS)]


def excluded_ids(
    table: pd.DataFrame, *, track: str, bring_back: Collection[str] = ()
) -> frozenset[str]:
    """The firms ``track``'s list leaves out: those with a reason of ``table`` (``not_leads``)
    on every track or on ``track`` that is not among ``bring_back``."""
    unknown = [r for r in bring_back if r not in REASONS]
    if unknown:
        raise ValueError(f"bring_back: {', '.join(unknown)} is not a reason ({', '.join(REASONS)})")
    applies = table[C.TRACK].isna() | (table[C.TRACK] == track)
    kept = applies & ~table["reason"].isin(list(bring_back))
    return frozenset(table.loc[kept, C.ENTERPRISE_ID].astype(str))
