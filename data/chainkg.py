"""Importer of the public ChainKnowledgeGraph JSON-lines files into contract tables.

Rules for the source's known defects (each one counted in the import report, every dropped or
changed value listed in ``rejects/<table>.csv`` with its line number in the source file):

- company codes come as ``600000.SH`` or bare ``301079``: the first 6 digits are the stock code and
  ``stock:<code>`` the ``enterprise_id`` (a counted normalisation);
- a stock code listed twice: the row whose short name matches ``company_industry.json`` for that
  code is kept (else the first); the others are rejected as conflicting duplicates;
- product names with embedded line breaks or spaces (PDF table artefacts) lose the white space;
- ``rel_weight`` outside [0, 1] (segment tables mix product, region and industry shares) is
  cleared — the company-product edge is kept with no weight; a repeated (company, product) pair
  is rejected as a duplicate of its first line;
- a company-product or product-product edge naming an unknown company is rejected; a product
  named only in ``company_product.json`` is added to ``products`` (counted);
- ``industry_up`` pairs name industries: a name not in ``industry.json`` is rejected.

Product ids are ``p:`` + the first 12 hex digits of the SHA-1 of the cleaned name (stable).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from data import columns as C
from data.loaders import DataFileError, LoadResult, _rejects_frame, reject_record, validate_table
from data.reference import Chain, industry_link_map

FILES: Final = (
    "company.json",
    "industry.json",
    "industry_industry.json",
    "industry_up.json",
    "product.json",
    "company_industry.json",
    "company_product.json",
    "product_product.json",
)
PRODUCT_RELATIONS: Final = {
    "上游材料": "upstream",
    "产品小类": "subclass",
    "下游产品": "downstream",
}
_SPACE = re.compile(r"\s+")


def product_id(name: str) -> str:
    """Stable id of a (cleaned) product name."""
    return "p:" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]


def stock_enterprise_id(stock_code: str) -> str:
    """The enterprise id of a listed firm known by its 6-digit code."""
    return f"stock:{stock_code}"


@dataclass
class ChainKgImport:
    """The contract tables made from a ChainKnowledgeGraph folder, with rejects and counts."""

    results: dict[str, LoadResult]
    normalisations: Counter[str] = field(default_factory=Counter)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Accepted rows per table."""
        return {name: r.frame for name, r in self.results.items()}

    def report(self) -> dict[str, object]:
        """Counts per table and the normalisations, for ``import_report.json``."""
        return {
            "normalisations": dict(sorted(self.normalisations.items())),
            "tables": {name: r.summary() for name, r in self.results.items()},
        }


def read_jsonl(path: Path) -> tuple[list[dict[str, object]], list[int], list[dict[str, object]]]:
    """Records of a JSON-lines file with their line numbers, and the lines that are not JSON."""
    if not path.exists():
        raise DataFileError(f"{path}: no such file")
    records, lines, bad = [], [], []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(
                reject_record(
                    row=number, column="*", value=line[:200], reason=f"not a JSON object: {exc.msg}"
                )
            )
            continue
        if not isinstance(value, dict):
            bad.append(
                reject_record(row=number, column="*", value=line[:200], reason="not a JSON object")
            )
            continue
        records.append(value)
        lines.append(number)
    return records, lines, bad


def _code6(value: object) -> str | None:
    text = str(value or "").strip()
    match = re.match(r"^(\d{6})(\.(SH|SZ|BJ))?$", text, flags=re.IGNORECASE)
    return match.group(1) if match else None


def _frame(records: list[dict[str, object]], columns: dict[str, str]) -> pd.DataFrame:
    """Rename source keys to contract columns, keeping unknown keys out of the frame."""
    frame = pd.DataFrame.from_records(records)
    for key in columns:
        if key not in frame:
            frame[key] = None
    return frame[list(columns)].rename(columns=columns)


def _validated(
    table: str,
    frame: pd.DataFrame,
    rows: list[int] | np.ndarray,
    source: Path,
    prior: list[dict[str, object]],
    source_rows: int,
) -> LoadResult:
    return validate_table(
        frame,
        table=table,
        rows=np.asarray(rows, dtype=np.int64),
        source=source,
        prior_rejects=_rejects_frame(prior),
        source_rows=source_rows,
    )


def links_from_industries(enterprises: pd.DataFrame, chains: Mapping[str, Chain]) -> pd.DataFrame:
    """The Shenwan broadcast rule, kept only as the baseline attachment is judged against: a firm
    works in every curated link that lists its Shenwan industry, its share split evenly. Imports
    attach firms from evidence instead (``industry_graph.attach``)."""
    link_map = industry_link_map(chains, scheme="sw2021")
    rows = []
    sw = enterprises[enterprises[C.INDUSTRY_SCHEME] == "sw2021"]
    for eid, code in zip(sw[C.ENTERPRISE_ID], sw[C.INDUSTRY_CODE], strict=True):
        links = link_map.get(code, ())
        for link_id in links:
            rows.append(
                {C.ENTERPRISE_ID: eid, C.LINK_ID: link_id, C.SHARE: round(1.0 / len(links), 6)}
            )
    return pd.DataFrame(rows, columns=[C.ENTERPRISE_ID, C.LINK_ID, C.SHARE])


def import_chainkg(folder: Path) -> ChainKgImport:
    """Read a ChainKnowledgeGraph folder into ``enterprises`` (listed firms), ``industries``,
    ``industry_relations``, ``products``, ``enterprise_products`` and ``product_relations``
    (``industry_graph.attach.attach_universe`` then adds ``enterprise_links`` from evidence)."""
    missing = [name for name in FILES if not (folder / name).exists()]
    if missing:
        raise DataFileError(
            f"{folder}: not a ChainKnowledgeGraph folder, missing {', '.join(missing)}"
        )
    counts: Counter[str] = Counter()
    results: dict[str, LoadResult] = {}

    # industries: Shenwan-2021 codes with their parents
    ind, ind_rows, ind_bad = read_jsonl(folder / "industry.json")
    rel, _, _ = read_jsonl(folder / "industry_industry.json")
    parent = {str(r.get("from_code")): str(r.get("to_code")) for r in rel}
    industries = _frame(ind, {"code": C.CODE, "name": C.NAME})
    industries[C.SCHEME] = "sw2021"
    industries[C.PARENT_CODE] = industries[C.CODE].map(parent)
    results["industries"] = _validated(
        "industries",
        industries,
        ind_rows,
        folder / "industry.json",
        ind_bad,
        len(ind) + len(ind_bad),
    )
    code_of = dict(
        zip(results["industries"].frame[C.NAME], results["industries"].frame[C.CODE], strict=True)
    )

    # industry_up: names -> codes
    ups, up_rows, up_bad = read_jsonl(folder / "industry_up.json")
    up_bad_lines = len(up_bad)
    rel_records, rel_rows = [], []
    for record, line in zip(ups, up_rows, strict=True):
        child = str(record.get("industry"))
        upstream = record.get("ups")
        if child not in code_of:
            up_bad.append(
                reject_record(
                    row=line,
                    column="industry",
                    value=child,
                    reason="industry name not in industry.json",
                )
            )
            continue
        if not isinstance(upstream, dict):
            up_bad.append(
                reject_record(
                    row=line,
                    column="ups",
                    value=upstream,
                    reason="not a mapping of industry to count",
                )
            )
            continue
        unknown = [name for name in upstream if name not in code_of]
        if unknown:
            up_bad.append(
                reject_record(
                    row=line,
                    column="ups",
                    value=", ".join(unknown),
                    reason="upstream industry names not in industry.json",
                    action=C.ACTION_VALUE_CLEARED,
                )
            )
        for name, count in upstream.items():
            if name in code_of:
                rel_records.append(
                    {C.FROM_CODE: code_of[child], C.TO_CODE: code_of[name], C.COUNT: count}
                )
                rel_rows.append(line)
    relations = pd.DataFrame(rel_records, columns=[C.FROM_CODE, C.TO_CODE, C.COUNT])
    relations[C.SCHEME] = "sw2021"
    results["industry_relations"] = _validated(
        "industry_relations",
        relations,
        rel_rows,
        folder / "industry_up.json",
        up_bad,
        len(rel_records)
        + up_bad_lines
        + sum(1 for b in up_bad if b[C.REJECT_ACTION] == C.ACTION_ROW_REJECTED),
    )

    # companies
    company_industry, _ci_rows, ci_bad = read_jsonl(folder / "company_industry.json")
    short_name = {
        _code6(r.get("company_code")): str(r.get("company_name")) for r in company_industry
    }
    industry_of = {
        _code6(r.get("company_code")): str(r.get("industry_code")) for r in company_industry
    }
    companies, co_rows, co_bad = read_jsonl(folder / "company.json")
    company_lines = len(companies) + len(co_bad)
    by_code: dict[str, list[int]] = {}
    for i, record in enumerate(companies):
        code = _code6(record.get("code"))
        if code is None:
            co_bad.append(
                reject_record(
                    row=co_rows[i],
                    column="code",
                    value=record.get("code"),
                    reason="not a 6-digit stock code",
                )
            )
            continue
        if str(record.get("code")) != code:
            counts["company code normalised to 6 digits"] += 1
        by_code.setdefault(code, []).append(i)
    keep: list[int] = []
    for code, idxs in by_code.items():
        chosen = next(
            (i for i in idxs if companies[i].get("name") == short_name.get(code)), idxs[0]
        )
        keep.append(chosen)
        for i in idxs:
            if i != chosen:
                co_bad.append(
                    reject_record(
                        row=co_rows[i],
                        column="code",
                        value=code,
                        reason=f"duplicate stock code {code} ({companies[i].get('name')}); kept line {co_rows[chosen]} "
                        f"({companies[chosen].get('name')})",
                    )
                )
    keep.sort()
    ent = pd.DataFrame(
        {
            C.ENTERPRISE_ID: [stock_enterprise_id(str(_code6(companies[i]["code"]))) for i in keep],
            C.STOCK_CODE: [_code6(companies[i]["code"]) for i in keep],
            C.NAME: [companies[i].get("fullname") or companies[i].get("name") for i in keep],
            C.IS_LISTED: True,
        }
    )
    ent[C.INDUSTRY_CODE] = ent[C.STOCK_CODE].map(industry_of)
    ent[C.INDUSTRY_SCHEME] = ent[C.INDUSTRY_CODE].notna().map({True: "sw2021", False: None})
    ent["short_name"] = pd.Series([companies[i].get("name") for i in keep], dtype=object)
    results["enterprises"] = _validated(
        "enterprises",
        ent,
        [co_rows[i] for i in keep],
        folder / "company.json",
        co_bad,
        company_lines,
    )
    known_companies = set(results["enterprises"].frame[C.STOCK_CODE])
    counts["company_industry lines"] = len(company_industry) + len(ci_bad)

    # products
    prods, prod_rows, prod_bad = read_jsonl(folder / "product.json")
    product_lines_read = len(prods) + len(prod_bad)
    names: dict[str, int] = {}
    for record, line in zip(prods, prod_rows, strict=True):
        raw = str(record.get("name") or "")
        clean = _SPACE.sub("", raw)
        if clean != raw:
            counts["product name white space removed"] += 1
        if not clean:
            prod_bad.append(
                reject_record(row=line, column="name", value=raw, reason="empty product name")
            )
            continue
        if clean in names:
            prod_bad.append(
                reject_record(
                    row=line,
                    column="name",
                    value=raw,
                    reason=f"duplicate product name, first on line {names[clean]}",
                )
            )
            continue
        names[clean] = line

    # company -> product
    cp, cp_rows, cp_bad = read_jsonl(folder / "company_product.json")
    cp_lines_read = len(cp) + len(cp_bad)
    cp_records, cp_lines = [], []
    added_products: dict[str, int] = {}
    for record, line in zip(cp, cp_rows, strict=True):
        code = _code6(record.get("company_code"))
        if code is None or code not in known_companies:
            cp_bad.append(
                reject_record(
                    row=line,
                    column="company_code",
                    value=record.get("company_code"),
                    reason="company not in company.json",
                )
            )
            continue
        raw = str(record.get("product_name") or "")
        clean = _SPACE.sub("", raw)
        if clean != raw:
            counts["product name white space removed"] += 1
        if not clean:
            cp_bad.append(
                reject_record(
                    row=line, column="product_name", value=raw, reason="empty product name"
                )
            )
            continue
        if clean not in names and clean not in added_products:
            added_products[clean] = line
        cp_records.append(
            {
                C.ENTERPRISE_ID: stock_enterprise_id(code),
                C.PRODUCT_ID: product_id(clean),
                C.WEIGHT: record.get("rel_weight"),
            }
        )
        cp_lines.append(line)
    counts["products added from company_product.json"] = len(added_products)
    product_frame = pd.DataFrame(
        {
            C.PRODUCT_ID: [product_id(n) for n in [*names, *added_products]],
            C.NAME: [*names, *added_products],
        }
    )
    product_lines = [*names.values(), *added_products.values()]
    results["products"] = _validated(
        "products",
        product_frame,
        product_lines,
        folder / "product.json",
        prod_bad,
        product_lines_read + len(added_products),
    )
    results["enterprise_products"] = _validated(
        "enterprise_products",
        pd.DataFrame(cp_records, columns=[C.ENTERPRISE_ID, C.PRODUCT_ID, C.WEIGHT]),
        cp_lines,
        folder / "company_product.json",
        cp_bad,
        cp_lines_read,
    )

    # product -> product
    pp, pp_rows, pp_bad = read_jsonl(folder / "product_product.json")
    pp_lines_read = len(pp) + len(pp_bad)
    known_products = set(names) | set(added_products)
    pp_records, pp_lines = [], []
    for record, line in zip(pp, pp_rows, strict=True):
        relation = PRODUCT_RELATIONS.get(str(record.get("rel")))
        ends = [_SPACE.sub("", str(record.get(k) or "")) for k in ("from_entity", "to_entity")]
        if relation is None:
            pp_bad.append(
                reject_record(
                    row=line,
                    column="rel",
                    value=record.get("rel"),
                    reason=f"unknown relation (known: {', '.join(PRODUCT_RELATIONS)})",
                )
            )
            continue
        unknown = [e for e in ends if e not in known_products]
        if unknown:
            pp_bad.append(
                reject_record(
                    row=line,
                    column="from_entity" if ends[0] in unknown else "to_entity",
                    value=unknown[0],
                    reason="product not in product.json",
                )
            )
            continue
        pp_records.append(
            {
                C.FROM_PRODUCT: product_id(ends[0]),
                C.TO_PRODUCT: product_id(ends[1]),
                C.RELATION: relation,
            }
        )
        pp_lines.append(line)
    results["product_relations"] = _validated(
        "product_relations",
        pd.DataFrame(pp_records, columns=[C.FROM_PRODUCT, C.TO_PRODUCT, C.RELATION]),
        pp_lines,
        folder / "product_product.json",
        pp_bad,
        pp_lines_read,
    )
    known_industries = set(results["industries"].frame[C.CODE])
    counts["company industry codes not in industry.json (kept)"] = int(
        (~results["enterprises"].frame[C.INDUSTRY_CODE].dropna().isin(known_industries)).sum()
    )
    return ChainKgImport(results=results, normalisations=counts)
