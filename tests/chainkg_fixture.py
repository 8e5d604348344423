"""A tiny ChainKnowledgeGraph folder with each of the real files' known defects."""

from __future__ import annotations

import json
from pathlib import Path


def _lines(path: Path, records: list[object]) -> None:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records),
        encoding="utf-8",
    )


def write_chainkg(folder: Path) -> Path:
    """Write the fixture; line numbers in comments are what rejects must report."""
    folder.mkdir(parents=True, exist_ok=True)
    _lines(
        folder / "company.json",
        [
            {
                "name": "数据港",
                "fullname": "上海数据港股份有限公司",
                "code": "603881.SH",
                "location": "上海证券交易所",
                "time": "2017-02-08",
            },
            {
                "name": "格尔软件",
                "fullname": "格尔软件股份有限公司",
                "code": "603232",
                "location": "上海证券交易所",
                "time": "2017-04-21",
            },
            {
                "name": "大连港",
                "fullname": "大连港股份有限公司",
                "code": "688096",
                "location": "上海证券交易所",
                "time": "2010-01-01",
            },  # line 3: conflicting
            {
                "name": "京源环保",
                "fullname": "江苏京源环保股份有限公司",
                "code": "688096",
                "location": "上海证券交易所",
                "time": "2020-04-09",
            },
            {
                "name": "坏代码",
                "fullname": "坏代码公司",
                "code": "ABC",
                "location": "x",
                "time": "x",
            },  # line 5: bad code
            "{not json",  # line 6
        ],
    )
    _lines(
        folder / "industry.json",
        [
            {"code": "710000", "name": "计算机"},
            {"code": "710300", "name": "IT服务Ⅱ"},
            {"code": "710301", "name": "IT服务Ⅲ"},
            {"code": "710400", "name": "软件开发"},
            {"code": "710402", "name": "横向通用软件"},
            {"code": "760000", "name": "环保"},
            {"code": "760101", "name": "大气治理"},
        ],
    )
    _lines(
        folder / "industry_industry.json",
        [
            {
                "from_code": "710300",
                "from_industry": "IT服务Ⅱ",
                "rel": "上级行业",
                "to_industry": "计算机",
                "to_code": "710000",
            },
            {
                "from_code": "710301",
                "from_industry": "IT服务Ⅲ",
                "rel": "上级行业",
                "to_industry": "IT服务Ⅱ",
                "to_code": "710300",
            },
            {
                "from_code": "710400",
                "from_industry": "软件开发",
                "rel": "上级行业",
                "to_industry": "计算机",
                "to_code": "710000",
            },
            {
                "from_code": "710402",
                "from_industry": "横向通用软件",
                "rel": "上级行业",
                "to_industry": "软件开发",
                "to_code": "710400",
            },
        ],
    )
    _lines(
        folder / "industry_up.json",
        [
            {
                "industry": "IT服务Ⅲ",
                "ups": {"横向通用软件": 5, "不存在的行业": 1},
            },  # line 1: one unknown name
            {"industry": "横向通用软件", "ups": {"IT服务Ⅲ": 2}},
            {"industry": "没有这个行业", "ups": {"IT服务Ⅲ": 1}},  # line 3: unknown industry
        ],
    )
    _lines(
        folder / "company_industry.json",
        [
            {
                "company_code": "603881.SH",
                "industry_code": "710301",
                "industry_name": "IT服务Ⅲ",
                "company_name": "数据港",
                "rel": "所属行业",
            },
            {
                "company_code": "603232.SH",
                "industry_code": "710402",
                "industry_name": "横向通用软件",
                "company_name": "格尔软件",
                "rel": "所属行业",
            },
            {
                "company_code": "688096.SH",
                "industry_code": "760101",
                "industry_name": "大气治理",
                "company_name": "京源环保",
                "rel": "所属行业",
            },
        ],
    )
    _lines(
        folder / "product.json",
        [
            {"name": "数据中心"},
            {"name": "云服务"},
            {"name": "PKI"},
            {"name": "服务器"},
            {"name": "光纤复合\n架空地线\n"},
        ],
    )
    _lines(
        folder / "company_product.json",
        [
            {
                "company_name": "数据港",
                "company_code": "603881.SH",
                "product_name": "数据中心",
                "rel": "主营产品",
                "rel_weight": 0.9,
            },
            {
                "company_name": "数据港",
                "company_code": "603881.SH",
                "product_name": "云服务",
                "rel": "主营产品",
                "rel_weight": -0.2,
            },  # line 2: cleared
            {
                "company_name": "格尔软件",
                "company_code": "603232.SH",
                "product_name": "PKI",
                "rel": "主营产品",
                "rel_weight": 1.7,
            },  # line 3: cleared
            {
                "company_name": "格尔软件",
                "company_code": "603232.SH",
                "product_name": "PKI",
                "rel": "主营产品",
                "rel_weight": 0.5,
            },  # line 4: duplicate
            {
                "company_name": "某公司",
                "company_code": "999999.SZ",
                "product_name": "PKI",
                "rel": "主营产品",
                "rel_weight": 0.5,
            },  # line 5: unknown
            {
                "company_name": "格尔软件",
                "company_code": "603232.SH",
                "product_name": "安全网关",
                "rel": "主营产品",
                "rel_weight": 0.3,
            },  # new product
        ],
    )
    _lines(
        folder / "product_product.json",
        [
            {"from_entity": "数据中心", "to_entity": "服务器", "rel": "上游材料"},
            {"from_entity": "云服务", "to_entity": "数据中心", "rel": "上游材料"},
            {
                "from_entity": "数据中心",
                "to_entity": "不存在",
                "rel": "上游材料",
            },  # line 3: unknown product
            {"from_entity": "PKI", "to_entity": "云服务", "rel": "下游产品"},
        ],
    )
    return folder
