"""Why a firm is not a lead, on a tiny hand-made universe (park Shibei, today 2021-06-30,
cool-off 365 days)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data import columns as C
from data.pipeline import CONTACTED, LANDED, LOST, NEW, PAYING, SIGNED
from data.reference import default_parks
from models.exclusions import excluded_ids, not_leads

TODAY = date(2021, 6, 30)
PARK = default_parks()["shibei"]

ROSTER = pd.DataFrame(
    {
        C.PARK_ID: ["shibei", "nantong"],
        C.ENTERPRISE_ID: ["member", "nantong_member"],
        C.ENTERED_ON: pd.to_datetime(["2019-01-01", "2018-05-01"]),
    }
)


def _contact(
    eid: str, track: str, outcome: str, closed: str | None, park: str = "shibei"
) -> dict[str, object]:
    return {
        C.PARK_ID: park,
        C.ENTERPRISE_ID: eid,
        C.TRACK: track,
        C.OUTCOME: outcome,
        C.CONTACTED_ON: pd.Timestamp("2019-06-01"),
        C.CLOSED_ON: pd.Timestamp(closed) if closed else pd.NaT,
    }


OUTREACH = pd.DataFrame(
    [
        _contact("signed_2019", "hq", "signed", "2019-12-13"),
        _contact("declined_hq", "hq", "declined", "2021-01-15"),
        _contact("declined_long_ago", "hq", "declined", "2020-01-10"),
        _contact("no_answer", "hq", "no_response", "2021-05-01"),
        _contact("declined_bigdata", "bigdata", "declined", "2021-03-01"),
        _contact("declined_elsewhere", "hq", "declined", "2021-05-01", park="nantong"),
    ]
)


def _lead(eid: str, stage: str, since: str, reason: str | None = None) -> dict[str, object]:
    return {
        C.ENTERPRISE_ID: eid,
        C.TRACK: "hq",
        "stage": stage,
        "stage_since": pd.Timestamp(since, tz="UTC"),
        "lost_reason": reason,
    }


PIPELINE = pd.DataFrame(
    [
        _lead("new_lead", NEW, "2021-06-01"),
        _lead("in_talks", CONTACTED, "2021-05-20"),
        _lead("signed_lead", SIGNED, "2021-04-02"),
        _lead("landed_lead", LANDED, "2021-02-02"),
        _lead("signed_2019", PAYING, "2020-07-01"),
        _lead("lost_declined", LOST, "2021-04-01", "declined"),
        _lead("lost_silent", LOST, "2021-04-01", "no_response"),
    ]
)


def _table() -> pd.DataFrame:
    return not_leads(
        park=PARK, park_roster=ROSTER, outreach=OUTREACH, pipeline=PIPELINE, today=TODAY
    )


def test_each_firm_the_park_cannot_win_is_named_with_its_reason_track_and_day() -> None:
    rows = {
        (r.enterprise_id, r.track, r.reason, r.since.isoformat())
        for r in _table().itertuples(index=False)
    }
    assert rows == {
        ("member", None, "member", "2019-01-01"),
        ("signed_2019", None, "paying", "2020-07-01"),
        ("signed_2019", None, "signed", "2019-12-13"),
        ("declined_hq", "hq", "declined_recently", "2021-01-15"),
        ("declined_bigdata", "bigdata", "declined_recently", "2021-03-01"),
        ("new_lead", None, "open_in_pipeline", "2021-06-01"),
        ("in_talks", None, "open_in_pipeline", "2021-05-20"),
        ("signed_lead", None, "signed", "2021-04-02"),
        ("landed_lead", None, "landed", "2021-02-02"),
        ("lost_declined", "hq", "declined_recently", "2021-04-01"),
    }


def test_a_firms_strongest_reason_comes_first() -> None:
    table = _table()
    assert table.loc[table[C.ENTERPRISE_ID] == "signed_2019", "reason"].tolist() == [
        "paying",
        "signed",
    ]


def test_a_decline_keeps_a_firm_off_its_own_track_only_and_a_filter_brings_it_back() -> None:
    table = _table()
    assert "declined_bigdata" in excluded_ids(table, track="bigdata")
    assert "declined_bigdata" not in excluded_ids(table, track="hq")
    back = excluded_ids(table, track="bigdata", bring_back=("declined_recently",))
    assert "declined_bigdata" not in back


def test_a_firm_brought_back_for_one_reason_stays_out_for_another() -> None:
    out = excluded_ids(_table(), track="hq", bring_back=("signed",))
    assert "signed_2019" in out  # it also pays tax here
    assert "signed_lead" not in out


def test_a_decline_older_than_the_cool_off_counts_no_more() -> None:
    shorter = PARK.model_copy(
        update={
            "lead_exclusions": PARK.lead_exclusions.model_copy(
                update={"declined_cooloff_days": 100}
            )
        }
    )
    table = not_leads(
        park=shorter, park_roster=ROSTER, outreach=OUTREACH, pipeline=PIPELINE, today=TODAY
    )
    recent = set(table.loc[table["reason"] == "declined_recently", C.ENTERPRISE_ID])
    assert recent == {"lost_declined"}  # 90 days ago; the others 121 and 168 days ago


def test_without_a_pipeline_only_the_roster_and_the_history_count() -> None:
    table = not_leads(park=PARK, park_roster=ROSTER, outreach=OUTREACH, pipeline=None, today=TODAY)
    assert set(table["reason"]) == {"member", "signed", "declined_recently"}


def test_a_bad_pipeline_table_is_refused_with_the_field() -> None:
    bad = PIPELINE.assign(stage=PIPELINE["stage"].replace(LANDED, "arrived"))
    with pytest.raises(ValueError, match=r"pipeline\.stage: 'arrived'"):
        not_leads(park=PARK, park_roster=ROSTER, outreach=OUTREACH, pipeline=bad, today=TODAY)
    with pytest.raises(ValueError, match="bring_back: won"):
        excluded_ids(_table(), track="hq", bring_back=("won",))
