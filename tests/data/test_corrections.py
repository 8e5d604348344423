"""Link corrections: how they apply over the attacher, their validation, the CSV import."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data import columns as C
from data.corrections import (
    CorrectionError,
    LinkCorrection,
    apply_corrections,
    correction_effect,
    parse_correction,
    read_corrections_csv,
    validate_corrections,
    write_corrections_csv,
)
from data.loaders import DataFileError, validate_table
from data.universe import load_universe, write_universe

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FIRMS = frozenset({"a", "b", "c"})


def _links() -> pd.DataFrame:
    """The attacher's answer: a in security 0.6 / analytics 0.4, b in storage, c in a battery
    link (Nantong's chain) and analytics."""
    return pd.DataFrame(
        {
            C.ENTERPRISE_ID: ["a", "a", "b", "c", "c"],
            C.LINK_ID: [
                "big_data.security",
                "big_data.analytics_ai",
                "big_data.storage_idc",
                "nev.battery",
                "big_data.analytics_ai",
            ],
            C.SHARE: [0.6, 0.4, 1.0, 0.5, 0.5],
            C.EVIDENCE_KIND: ["product", "product", "text", "product", "product"],
            C.EVIDENCE: ["防火墙", "大数据平台", "数据中心", "锂电池", "数据服务"],
            C.CONFIDENCE: [1.0, 0.8, 0.8, 1.0, 0.4],
        }
    )


def _c(
    action: str,
    firm: str = "a",
    minutes: int = 0,
    *,
    link_id: str | None = None,
    to_link_id: str | None = None,
    note: str = "",
) -> LinkCorrection:
    return parse_correction(
        {
            "park_id": "shibei",
            "enterprise_id": firm,
            "action": action,
            "link_id": link_id,
            "to_link_id": to_link_id,
            "note": note,
            "corrected_by": "wang",
            "corrected_at": T0 + timedelta(minutes=minutes),
        }
    )


def _of(links: pd.DataFrame, firm: str) -> pd.Series:
    own = links[links[C.ENTERPRISE_ID] == firm]
    return own.set_index(C.LINK_ID)[C.SHARE].round(4)


def test_confirm_marks_manual_and_keeps_the_attachers_share() -> None:
    out = apply_corrections(
        links=_links(), corrections=[_c("confirm", link_id="big_data.security", note="年报")]
    ).links
    a = out[out[C.ENTERPRISE_ID] == "a"].set_index(C.LINK_ID)
    assert a.loc["big_data.security", C.SHARE] == pytest.approx(0.6)
    assert a.loc["big_data.security", C.EVIDENCE_KIND] == "manual"
    assert a.loc["big_data.security", C.EVIDENCE] == "wang 2026-12-01：年报"
    assert a.loc["big_data.security", C.CONFIDENCE] == 1.0
    assert a.loc["big_data.analytics_ai", C.EVIDENCE] == "大数据平台"  # untouched link as found


def test_move_remove_and_outside_renormalise() -> None:
    moved = apply_corrections(
        links=_links(),
        corrections=[_c("move", link_id="big_data.analytics_ai", to_link_id="big_data.gov")],
    ).links
    assert _of(moved, "a").to_dict() == {"big_data.security": 0.6, "big_data.gov": 0.4}
    removed = apply_corrections(
        links=_links(), corrections=[_c("remove", link_id="big_data.security")]
    ).links
    assert _of(removed, "a").to_dict() == {"big_data.analytics_ai": 1.0}
    # outside Shibei's chains: the Nantong link stays, now the firm's only link
    outside = apply_corrections(links=_links(), corrections=[_c("outside", firm="c")]).links
    assert _of(outside, "c").to_dict() == {"nev.battery": 1.0}


def test_a_confirmed_new_link_weighs_as_the_strongest() -> None:
    out = apply_corrections(
        links=_links(), corrections=[_c("confirm", link_id="big_data.gov")]
    ).links
    # weights 0.6, 0.4 and 0.6 for the new link → 0.375, 0.25, 0.375
    assert _of(out, "a").to_dict() == {
        "big_data.gov": 0.375,
        "big_data.security": 0.375,
        "big_data.analytics_ai": 0.25,
    }


def test_the_latest_decision_about_a_link_wins_whatever_the_input_order() -> None:
    later_remove = [
        _c("remove", link_id="big_data.security", minutes=5),
        _c("confirm", link_id="big_data.security", minutes=1),
    ]
    out = apply_corrections(links=_links(), corrections=later_remove).links
    assert "big_data.security" not in _of(out, "a")
    later_confirm = [
        _c("remove", link_id="big_data.security", minutes=1),
        _c("confirm", link_id="big_data.security", minutes=5),
    ]
    back = apply_corrections(links=_links(), corrections=later_confirm).links
    assert _of(back, "a")["big_data.security"] > 0


def test_restore_undoes_and_gives_back_the_attachers_answer() -> None:
    corrections = [
        _c("outside", firm="b", minutes=0),
        _c("move", link_id="big_data.security", to_link_id="big_data.gov", minutes=1),
        _c("restore", link_id="big_data.gov", minutes=2),  # undoes the move (its target)
        _c("restore", firm="b", minutes=3),  # no link: undoes everything about b
    ]
    result = apply_corrections(links=_links(), corrections=corrections)
    pd.testing.assert_frame_equal(result.links, _links())
    assert (result.applied, result.withdrawn) == (0, 4)


def test_applying_twice_changes_nothing_more() -> None:
    corrections = [
        _c("move", link_id="big_data.analytics_ai", to_link_id="big_data.security"),
        _c("confirm", firm="b", link_id="big_data.compute_cloud", minutes=1),
        _c("outside", firm="c", minutes=2),
        _c("confirm", firm="c", link_id="big_data.finance", minutes=3),
    ]
    once = apply_corrections(links=_links(), corrections=corrections).links
    twice = apply_corrections(links=once, corrections=corrections).links
    pd.testing.assert_frame_equal(once, twice)
    assert _of(once, "a").to_dict() == {"big_data.security": 1.0}
    assert once.groupby(C.ENTERPRISE_ID)[C.SHARE].sum().round(6).eq(1.0).all()


def test_corrections_of_firms_outside_the_universe_are_skipped_and_counted() -> None:
    result = apply_corrections(
        links=_links(),
        corrections=[_c("remove", firm="zz", link_id="big_data.security")],
        enterprise_ids=FIRMS,
    )
    pd.testing.assert_frame_equal(result.links, _links())
    assert result.summary()["corrections_skipped"] == {"firm not in this universe": 1}


@pytest.mark.parametrize(
    ("correction", "field", "reason"),
    [
        (_c("confirm", firm="zz", link_id="big_data.security"), "enterprise_id", "unknown firm"),
        (_c("confirm", link_id="big_data.nosuch"), "link_id", "unknown link"),
        (
            _c("move", link_id="big_data.security", to_link_id="nev.battery"),
            "to_link_id",
            "not one of park shibei's chains",
        ),
    ],
)
def test_bad_corrections_name_the_field_and_the_row(
    correction: LinkCorrection, field: str, reason: str
) -> None:
    good = _c("confirm", link_id="big_data.security")
    with pytest.raises(CorrectionError, match=reason) as caught:
        validate_corrections([good, correction], enterprise_ids=FIRMS)
    assert (caught.value.field, caught.value.row) == (field, 2)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"action": "move", "link_id": "big_data.security"}, "to_link_id"),
        ({"action": "remove"}, "link_id"),
        ({"action": "outside", "link_id": "big_data.security"}, "link_id"),
        ({"action": "merge", "link_id": "big_data.security"}, "action"),
        (
            {"action": "confirm", "link_id": "big_data.gov", "corrected_at": "yesterday"},
            "corrected_at",
        ),
    ],
)
def test_a_malformed_correction_names_its_field(raw: dict[str, str], field: str) -> None:
    base = {"park_id": "shibei", "enterprise_id": "a", "corrected_by": "wang"}
    with pytest.raises(CorrectionError) as caught:
        parse_correction({"corrected_at": "2026-12-01T09:00:00", **base, **raw})
    assert caught.value.field == field


def test_a_csv_with_one_bad_row_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "corrections.csv"
    path.write_text(
        "enterprise_id,action,link_id,to_link_id,note\n"
        "a,confirm,big_data.security,,年报确认\n"
        "b,move,big_data.storage_idc,nev.battery,\n"  # line 3: another park's chain
        "zz,remove,big_data.security,,\n",  # line 4: unknown firm
        encoding="utf-8",
    )
    result = read_corrections_csv(
        path, park_id="shibei", corrected_by="wang", corrected_at=T0, enterprise_ids=FIRMS
    )
    assert not result.accepted and result.corrections == ()
    assert result.rejects[[C.REJECT_ROW, C.REJECT_COLUMN]].values.tolist() == [
        [3, "to_link_id"],
        [4, "enterprise_id"],
    ]
    assert result.rows == 3 and result.rows_rejected == 2


def test_exported_corrections_read_back_the_same(tmp_path: Path) -> None:
    corrections = [
        _c("move", link_id="big_data.analytics_ai", to_link_id="big_data.gov", note="见年报"),
        _c("outside", firm="c", minutes=1),
        _c("restore", firm="c", minutes=2),
    ]
    path = write_corrections_csv(corrections, tmp_path / "out.csv")
    back = read_corrections_csv(path, park_id="nantong", corrected_by="li", enterprise_ids=FIRMS)
    assert back.accepted and list(back.corrections) == corrections


def test_a_csv_with_an_unknown_column_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("enterprise_id,action,chain\na,outside,big_data\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="unknown column"):
        read_corrections_csv(path, park_id="shibei", corrected_by="wang")


UNIVERSE_IDS = {"a": "stock:600001", "b": "stock:600002", "c": "stock:600003"}


def _universe(folder: Path) -> Path:
    """A universe of the three firms with the attacher's links of ``_links``."""
    ids = UNIVERSE_IDS
    firms = pd.DataFrame({C.ENTERPRISE_ID: list(ids.values()), C.NAME: ["甲", "乙", "丙"]})
    links = _links().assign(**{C.ENTERPRISE_ID: _links()[C.ENTERPRISE_ID].map(ids)})
    results = {
        name: validate_table(frame, table=name, rows=np.arange(2, len(frame) + 2), source=folder)
        for name, frame in (("enterprises", firms), ("enterprise_links", links))
    }
    assert all(r.rejected == 0 for r in results.values())
    write_universe(folder / "u", results, source="test")
    return folder / "u"


def test_load_universe_applies_the_corrections(tmp_path: Path) -> None:
    ids = UNIVERSE_IDS
    _universe(tmp_path)
    correction = _c(
        "move", firm=ids["b"], link_id="big_data.storage_idc", to_link_id="big_data.gov"
    )
    raw = load_universe(tmp_path / "u", ["enterprise_links"])["enterprise_links"]
    fixed = load_universe(tmp_path / "u", ["enterprise_links"], corrections=[correction])
    assert _of(raw, ids["b"]).to_dict() == {"big_data.storage_idc": 1.0}
    b = fixed["enterprise_links"][fixed["enterprise_links"][C.ENTERPRISE_ID] == ids["b"]]
    assert b[[C.LINK_ID, C.EVIDENCE_KIND]].values.tolist() == [["big_data.gov", "manual"]]


def test_lookalikes_read_the_corrected_links(tmp_path: Path) -> None:
    """乙 moved from storage to the analytics link that 甲 and 丙 share: its lookalike vector
    follows, so it now resembles both (cosine 0 before)."""
    from features.similarity import firm_vectors

    folder = _universe(tmp_path)
    b = UNIVERSE_IDS["b"]
    move = _c("move", firm=b, link_id="big_data.storage_idc", to_link_id="big_data.analytics_ai")
    tables = ["enterprises", "enterprise_links"]
    before = firm_vectors(load_universe(folder, tables), with_industry=False)
    after = firm_vectors(load_universe(folder, tables, corrections=[move]), with_industry=False)
    i = int(after.ids.get_indexer([b])[0])
    assert before.links[i] == ("big_data.storage_idc",)
    assert after.links[i] == ("big_data.analytics_ai",)
    cos_before = (before.matrix @ before.matrix.T).toarray()[i]
    cos_after = (after.matrix @ after.matrix.T).toarray()[i]
    others = [j for j in range(3) if j != i]
    assert np.allclose(cos_before[others], 0.0) and (cos_after[others] > 0.4).all()


def test_the_effect_of_a_correction_reads_from_and_to_for_the_audit() -> None:
    earlier = [_c("remove", link_id="big_data.analytics_ai")]
    move = _c("move", link_id="big_data.security", to_link_id="big_data.gov", minutes=1)
    assert correction_effect(move, links=_links(), earlier=earlier) == (
        "big_data.security:1.00",
        "big_data.gov:1.00",
    )
    outside = _c("outside", minutes=2)
    assert correction_effect(outside, links=_links(), earlier=[*earlier, move])[1] == "none"
