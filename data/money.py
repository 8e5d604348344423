"""Registered capital and other amounts given as free text, converted to 10,000 CNY (万元).

Fixed conversion rates (CNY per unit), documented so that an import is reproducible: the 2020
annual averages of the PBoC central parity for current currencies, and the irrevocable euro
conversion rates (EUR 7.8755 in 2020) for the legacy European currencies that old registrations
still carry. An amount with no currency is CNY.
"""

from __future__ import annotations

import re
from typing import Final

CNY_PER_UNIT: Final[dict[str, float]] = {
    "CNY": 1.0,
    "USD": 6.8976,
    "EUR": 7.8755,
    "JPY": 0.064612,
    "HKD": 0.88923,
    "GBP": 8.8503,
    "CHF": 7.3500,
    "SGD": 5.0000,
    "AUD": 4.7510,
    "CAD": 5.1440,
    "TWD": 0.23380,
    "KRW": 0.0058410,
    "MOP": 0.86330,
    "SEK": 0.74960,
    "NOK": 0.73350,
    "DKK": 1.05650,
    "DEM": 7.8755 / 1.95583,
    "FRF": 7.8755 / 6.55957,
    "ITL": 7.8755 / 1936.27,
    "NLG": 7.8755 / 2.20371,
    "BEF": 7.8755 / 40.3399,
    "ATS": 7.8755 / 13.7603,
}

# currency words as registries write them, longest first so 新加坡元 wins over 元
_CURRENCY_WORDS: Final[tuple[tuple[str, str], ...]] = tuple(
    sorted(
        {
            "人民币": "CNY",
            "元人民币": "CNY",
            "美元": "USD",
            "美金": "USD",
            "欧元": "EUR",
            "日元": "JPY",
            "港币": "HKD",
            "港元": "HKD",
            "英镑": "GBP",
            "瑞士法郎": "CHF",
            "新加坡元": "SGD",
            "澳大利亚元": "AUD",
            "澳元": "AUD",
            "加拿大元": "CAD",
            "加元": "CAD",
            "新台币": "TWD",
            "台币": "TWD",
            "韩元": "KRW",
            "澳门元": "MOP",
            "澳门币": "MOP",
            "瑞典克朗": "SEK",
            "挪威克朗": "NOK",
            "丹麦克朗": "DKK",
            "德国马克": "DEM",
            "马克": "DEM",
            "法国法郎": "FRF",
            "意大利里拉": "ITL",
            "荷兰盾": "NLG",
            "比利时法郎": "BEF",
            "奥地利先令": "ATS",
            "元": "CNY",
            **{code: code for code in CNY_PER_UNIT},
            "RMB": "CNY",
            "US$": "USD",
            "$": "USD",
        }.items(),
        key=lambda kv: -len(kv[0]),
    )
)
_NUMBER = re.compile(r"[-+]?\d[\d,，]*(?:\.\d+)?|[-+]?\.\d+")
_SCALE = (("亿", 10_000.0), ("万", 1.0), ("千", 0.1), ("百", 0.01))


class MoneyParseError(ValueError):
    """The text is not an amount of money this parser understands."""


def parse_money_wan_cny(text: str, *, default_unit_wan: bool = True) -> tuple[float, str]:
    """Parse an amount such as ``168万人民币`` or ``8,800(万美元)`` into (万元 CNY, currency).

    With no scale word the amount is taken in 万 when ``default_unit_wan`` (registries state
    capital in 万), else in yuan. Raises ``MoneyParseError`` naming what was not understood.
    """
    raw = text.strip()
    numbers = _NUMBER.findall(raw)
    if len(numbers) != 1:
        raise MoneyParseError(
            "no amount found" if not numbers else f"{len(numbers)} numbers found, expected one"
        )
    amount = float(numbers[0].replace(",", "").replace("，", ""))
    rest = _NUMBER.sub(" ", raw, count=1)
    rest = re.sub(r"[()（）\s:：]", "", rest).upper()
    scale = None
    for word, factor in _SCALE:
        if word in rest:
            if scale is not None:
                raise MoneyParseError(f"more than one scale word in {raw!r}")
            scale = factor
            rest = rest.replace(word, "", 1)
    currency = "CNY"
    if rest:
        for word, code in _CURRENCY_WORDS:
            if rest == word.upper():
                currency = code
                break
        else:
            raise MoneyParseError(f"unknown currency or unit {rest!r}")
    if scale is None:
        scale = 1.0 if default_unit_wan else 0.0001
    if amount < 0:
        raise MoneyParseError("negative amount")
    return amount * scale * CNY_PER_UNIT[currency], currency
