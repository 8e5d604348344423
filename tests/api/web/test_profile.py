"""The enterprise page's profile: labelled and formatted in the page's language."""

from __future__ import annotations

from datetime import date

from api.web.enterprises import profile_rows

PROFILE = {
    "enterprise_id": "e1",
    "name": "样例",
    "province": "上海市",
    "founded_on": date(2008, 3, 1),
    "revenue_wan_cny": 5488806.92,
    "revenue_growth": 0.123,
    "net_margin": 0.0456,
    "employees": 12034.0,
    "ownership": "central_soe",
    "hq_type": "mnc_regional_hq",
    "is_listed": True,
    "is_high_tech": False,
    "industry_code": "6510",
    "industry_scheme": "gbt4754_2017",
    "district": None,
}


def test_the_profile_speaks_chinese_with_units() -> None:
    rows = dict(profile_rows(PROFILE, "zh"))
    assert rows["营业收入"] == "5,488,807 万元"
    assert rows["营收增长率"] == "+12.3%" and rows["净利率"] == "4.6%"
    assert rows["员工人数"] == "12,034" and rows["成立日期"] == "2008-03-01"
    assert rows["上市公司"] == "是" and rows["高新技术企业"] == "否"
    assert rows["所有制"] == "中央企业" and rows["总部类型"] == "跨国公司地区总部"
    assert rows["行业代码"] == "6510（国标 GB/T 4754-2017）"
    # machine names, ids already in the title and empty fields are not shown
    assert "区县" not in rows and not any("_" in label for label in rows)
    assert "revenue_wan_cny" not in str(rows) and "True" not in rows.values()


def test_the_profile_speaks_english_in_millions() -> None:
    rows = dict(profile_rows(PROFILE, "en"))
    assert rows["Revenue"] == "54,888.1 m CNY"
    assert rows["Listed"] == "yes" and rows["Ownership"] == "central SOE"
    assert rows["Headquarters type"] == "MNC regional HQ"
    assert rows["Industry code"] == "6510 (GB/T 4754-2017)"
