from __future__ import annotations

from pathlib import Path

import pytest

from data import columns as C
from data.chainkg import import_chainkg, product_id
from data.loaders import DataFileError
from tests.chainkg_fixture import write_chainkg


def _rejects(result, action: str) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    r = result.rejects
    return sorted(
        zip(
            r.loc[r[C.REJECT_ACTION] == action, C.REJECT_ROW],
            r.loc[r[C.REJECT_ACTION] == action, C.REJECT_COLUMN],
            strict=False,
        )
    )


def test_fixture_defects_follow_the_documented_rules(tmp_path: Path) -> None:
    imported = import_chainkg(write_chainkg(tmp_path / "kg"))
    res = imported.results
    ent = res["enterprises"]
    assert set(ent.frame[C.ENTERPRISE_ID]) == {"stock:603881", "stock:603232", "stock:688096"}
    assert (
        ent.frame.set_index(C.STOCK_CODE).at["688096", C.NAME] == "江苏京源环保股份有限公司"
    )  # matches company_industry
    assert _rejects(ent, C.ACTION_ROW_REJECTED) == [(3, "code"), (5, "code"), (6, "*")]
    assert ent.source_rows == 6 and ent.accepted + ent.rejected == 6
    assert imported.normalisations["company code normalised to 6 digits"] == 1

    made = res["enterprise_products"]
    assert _rejects(made, C.ACTION_VALUE_CLEARED) == [(2, C.WEIGHT), (3, C.WEIGHT)]
    assert _rejects(made, C.ACTION_ROW_REJECTED) == [
        (4, "enterprise_id+product_id"),
        (5, "company_code"),
    ]
    assert made.accepted == 4

    products = res["products"].frame.set_index(C.NAME)
    assert "光纤复合架空地线" in products.index and "安全网关" in products.index
    assert products.at["数据中心", C.PRODUCT_ID] == product_id("数据中心")
    assert imported.normalisations["product name white space removed"] == 1
    assert imported.normalisations["products added from company_product.json"] == 1

    relations = res["product_relations"]
    assert relations.accepted == 3 and _rejects(relations, C.ACTION_ROW_REJECTED) == [
        (3, "to_entity")
    ]
    assert set(relations.frame[C.RELATION]) == {"upstream", "downstream"}

    up = res["industry_relations"]
    assert sorted(
        zip(up.frame[C.FROM_CODE], up.frame[C.TO_CODE], up.frame[C.COUNT], strict=False)
    ) == [
        ("710301", "710402", 5),
        ("710402", "710301", 2),
    ]
    assert _rejects(up, C.ACTION_ROW_REJECTED) == [(3, "industry")]
    assert _rejects(up, C.ACTION_VALUE_CLEARED) == [(1, "ups")]

    assert "enterprise_links" not in res  # attached from evidence afterwards, not by industry


def test_missing_file_is_named(tmp_path: Path) -> None:
    folder = write_chainkg(tmp_path / "kg")
    (folder / "product.json").unlink()
    with pytest.raises(DataFileError, match=r"missing product\.json"):
        import_chainkg(folder)


@pytest.mark.shared_data
def test_real_chainkg_every_line_accounted_for(shared_data: Path) -> None:
    imported = import_chainkg(shared_data / "chainkg")
    res = imported.results
    assert res["enterprises"].accepted == 4_586  # unique 6-digit codes
    assert res["enterprises"].source_rows == 4_654
    assert res["industries"].accepted == 511
    assert res["product_relations"].source_rows == 110_153
    assert res["enterprise_products"].source_rows == 53_785
    for name, result in res.items():
        assert result.accepted + result.rejected <= result.source_rows, name
    made = res["enterprise_products"].frame
    assert made[C.WEIGHT].dropna().between(0, 1).all()
    assert imported.normalisations["company code normalised to 6 digits"] == 3_902
