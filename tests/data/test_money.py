from __future__ import annotations

import pytest

from data.money import CNY_PER_UNIT, MoneyParseError, parse_money_wan_cny


@pytest.mark.parametrize(
    ("text", "wan_cny", "currency"),
    [
        ("168万人民币", 168.0, "CNY"),
        ("858(万元人民币)", 858.0, "CNY"),
        ("1,000(万元人民币)", 1000.0, "CNY"),
        ("500万美元", 500 * CNY_PER_UNIT["USD"], "USD"),
        ("8,800(万美元)", 8800 * CNY_PER_UNIT["USD"], "USD"),
        ("(万)".join(["30", ""]), 30.0, "CNY"),
        ("235(万元)", 235.0, "CNY"),
        ("100( 万人民币 )", 100.0, "CNY"),
        ("50(万德国马克)", 50 * CNY_PER_UNIT["DEM"], "DEM"),
        ("12(万新加坡元)", 12 * CNY_PER_UNIT["SGD"], "SGD"),
        ("200(万日元)", 200 * CNY_PER_UNIT["JPY"], "JPY"),
        ("3亿元", 30_000.0, "CNY"),
        ("100", 100.0, "CNY"),
    ],
)
def test_registry_amounts(text: str, wan_cny: float, currency: str) -> None:
    value, cur = parse_money_wan_cny(text)
    assert cur == currency
    assert value == pytest.approx(wan_cny)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("Jean", "no amount"), ("5万卢布", "unknown currency"), ("1-2万", "numbers found")],
)
def test_unreadable_amounts_raise_with_reason(text: str, reason: str) -> None:
    with pytest.raises(MoneyParseError, match=reason):
        parse_money_wan_cny(text)


def test_legacy_currencies_follow_the_euro_rate() -> None:
    assert CNY_PER_UNIT["DEM"] * 1.95583 == pytest.approx(CNY_PER_UNIT["EUR"])
