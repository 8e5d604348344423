"""Normalisation of province, city and district names to their full official form."""

from __future__ import annotations

from functools import lru_cache

from data.reference import load_regions

MUNICIPALITIES = frozenset({"北京市", "天津市", "上海市", "重庆市"})


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    provinces, former = load_regions()
    province_names: dict[str, str] = {}
    districts: dict[str, dict[str, str]] = {}
    for p in provinces:
        province_names[p.name] = p.name
        province_names[p.short] = p.name
        table = districts.setdefault(p.name, {})
        for city in p.cities:
            for d in city.districts:
                full = str(d["name"])
                table[full] = full
                for suffix in ("新区", "区"):
                    if full.endswith(suffix):
                        table.setdefault(full[: -len(suffix)], full)
                        break
    for province, names in former.items():
        table = districts.setdefault(province, {})
        full_names = [n for n in names if n.endswith("区")]
        for full in full_names:
            table[full] = full
            table.setdefault(full[:-1], full)
    return province_names, districts


def normalise_province(value: str) -> str | None:
    """The full official name of a province given in full or short form, else ``None``."""
    return _tables()[0].get(value.strip())


def normalise_district(province: str | None, value: str) -> str | None:
    """The full name of a district of ``province`` given in short form, else ``None``."""
    if province is None:
        return None
    return _tables()[1].get(province, {}).get(value.strip())
