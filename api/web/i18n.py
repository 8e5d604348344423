"""Interface strings of the pages in Chinese (default) and English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from data.pipeline import LOST_REASON_LABELS, ROLE_LABELS, STAGE_LABELS
from industry_graph.gaps import GAP_LABELS

_PAGE_STRINGS: Final[dict[str, dict[str, str]]] = {
    "kpis": {"zh": "规划指标", "en": "Plan targets"},
    "landing_form": {"zh": "落地形式", "en": "Landing form"},
    "landing_shares": {
        "zh": "各落地形式的园区可得税收比例",
        "en": "Share of the group's tax by landing form",
    },
    "landing_shares_note": {
        "zh": "由已落地企业的纳税记录学得，落地企业少时向园区设定的先验收缩（training.shares）",
        "en": "Learnt from landed firms' tax records, shrunk toward the park YAML's prior "
        "while few have landed (training.shares)",
    },
    "share_prior": {"zh": "先验 P50", "en": "Prior P50"},
    "share_now": {"zh": "本版本 P50", "en": "This version P50"},
    "share_sd": {"zh": "中位数不确定度（对数）", "en": "Median's log-sd"},
    "share_source": {"zh": "来源", "en": "Source"},
    "share_source_learnt": {"zh": "已学得", "en": "learnt"},
    "share_source_prior": {"zh": "先验", "en": "prior"},
    "share_of_group_tax": {
        "zh": "园区可得集团税收",
        "en": "share of the group's tax collected here",
    },
    "group_tax": {"zh": "集团税收 P50（万元）", "en": "group tax P50 (10k CNY)"},
    "form_chosen": {"zh": "按所选形式测算", "en": "as chosen"},
    "value_as": {"zh": "按其他落地形式测算", "en": "Value it as"},
    "recompute": {"zh": "重新测算", "en": "Recompute"},
    "coverage_over_time": {"zh": "链条覆盖变化", "en": "Chain coverage over time"},
    "kpi": {"zh": "指标", "en": "KPI"},
    "baseline": {"zh": "基期", "en": "Baseline"},
    "now": {"zh": "当前", "en": "Now"},
    "projected": {"zh": "预测（在途线索按落地概率）", "en": "Projected (open leads at P(land))"},
    "status_met": {"zh": "已达成", "en": "met"},
    "status_reachable": {"zh": "在途线索可达成", "en": "reachable with the pipeline"},
    "status_behind": {"zh": "落后", "en": "behind"},
    "status_not_held": {"zh": "无数据", "en": "no data held"},
    "status_no_data": {"zh": "无数据", "en": "no data"},
    "from_plan": {"zh": "规划值", "en": "plan"},
    "from_data": {"zh": "数据测算", "en": "measured"},
    "movers": {"zh": "推动最大的在途线索", "en": "Open leads that would move it most"},
    "no_movers": {"zh": "暂无在途线索", "en": "no open lead moves it"},
    "adds": {"zh": "贡献", "en": "adds"},
    "gaps_closed": {"zh": "基期以来补上的缺口", "en": "Gaps closed since the baseline"},
    "gaps_then_now": {"zh": "缺口数（基期 → 当前）", "en": "Gaps (baseline → now)"},
    "firms_baseline": {"zh": "基期企业", "en": "Firms at baseline"},
    "firms_now": {"zh": "当前企业", "en": "Firms now"},
    "gap_baseline": {"zh": "基期缺口类型", "en": "Gap at baseline"},
    "gap_now": {"zh": "当前缺口类型", "en": "Gap now"},
    "joined": {"zh": "基期后入驻企业", "en": "Firms that entered since"},
    "closed": {"zh": "已补链", "en": "closed"},
    "export_kpis": {"zh": "导出指标 Excel", "en": "Export KPIs (Excel)"},
    "metric": {"zh": "指标", "en": "Metric"},
    "meaning": {"zh": "含义", "en": "What it says"},
    "versions": {"zh": "冠军模型与历史版本", "en": "The champion against earlier versions"},
    "aliases": {"zh": "别名", "en": "Aliases"},
    "plots": {"zh": "训练运行的图表", "en": "The training run's plots"},
    "open_mlflow": {"zh": "在 MLflow 中打开此运行", "en": "Open this run in MLflow"},
    "realised": {
        "zh": "落地企业：实际税收与预测对比",
        "en": "Landed firms: realised against predicted tax",
    },
    "landed_firms": {"zh": "落地企业", "en": "Landed firms"},
    "coverage_band": {"zh": "P10–P90 覆盖率", "en": "P10–P90 coverage"},
    "within_x2": {"zh": "×2 以内", "en": "Within ×2"},
    "median_ratio": {"zh": "实际/预测中位数", "en": "Median realised / P50"},
    "no_realised": {
        "zh": "尚无落地企业在落地后的纳税记录",
        "en": "No landed firm has a tax record after its landing year yet",
    },
    "realised_year": {"zh": "年份", "en": "Year"},
    "realised_tax": {"zh": "实际税收（万元）", "en": "Realised tax (10k CNY)"},
    "predicted_band": {
        "zh": "预测 P10 / P50 / P90（万元）",
        "en": "Predicted P10 / P50 / P90 (10k CNY)",
    },
    "in_band": {"zh": "在区间内", "en": "in band"},
    "model_version": {"zh": "模型版本", "en": "Model version"},
    "title": {"zh": "市北招商", "en": "Shibei Attract"},
    "leads": {"zh": "招商线索", "en": "Leads"},
    "chains": {"zh": "产业链图谱", "en": "Chain maps"},
    "model": {"zh": "模型", "en": "Model"},
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "sign_out": {"zh": "退出", "en": "Sign out"},
    "username": {"zh": "用户名", "en": "Username"},
    "password": {"zh": "密码", "en": "Password"},
    "bad_login": {"zh": "用户名或密码错误", "en": "Wrong username or password"},
    "chain": {"zh": "产业链", "en": "Chain"},
    "link": {"zh": "环节", "en": "Link"},
    "province": {"zh": "省份", "en": "Province"},
    "city": {"zh": "城市", "en": "City"},
    "min_tax": {"zh": "最低税收 P50（万元）", "en": "Min tax P50 (10k CNY)"},
    "min_probability": {"zh": "最低落地概率", "en": "Min P(land)"},
    "exclude_contacted": {"zh": "排除已接触", "en": "Exclude contacted"},
    "include_signed": {"zh": "含已签约", "en": "Include signed"},
    "include_open_in_pipeline": {"zh": "含跟进中", "en": "Include those in the pipeline"},
    "include_declined_recently": {"zh": "含近期拒绝", "en": "Include recent declines"},
    "not_offered": {"zh": "未列入线索", "en": "Not offered as a lead"},
    "search": {"zh": "企业名称", "en": "Firm name"},
    "filter": {"zh": "筛选", "en": "Filter"},
    "any": {"zh": "全部", "en": "Any"},
    "export_xlsx": {"zh": "导出 Excel", "en": "Export Excel"},
    "export_csv": {"zh": "导出 CSV", "en": "Export CSV"},
    "rank": {"zh": "排名", "en": "Rank"},
    "firm": {"zh": "企业", "en": "Firm"},
    "score": {"zh": "期望价值（万元）", "en": "Expected value, 10k CNY"},
    "value": {"zh": "落地后价值", "en": "value if it lands"},
    "chain_value": {"zh": "补链价值（万元/年）", "en": "Chain value, 10k CNY a year"},
    "p_land": {"zh": "落地概率", "en": "P(land)"},
    "tax": {
        "zh": "园区可得税收 P50（P10–P90）万元/年",
        "en": "Park tax P50 (P10–P90), 10k CNY a year",
    },
    "gap_value": {"zh": "缺口分值", "en": "Gap score"},
    "reasons": {"zh": "推荐理由", "en": "Reasons"},
    "record": {"zh": "记录接触结果", "en": "Record outcome"},
    "outcome": {"zh": "结果", "en": "Outcome"},
    "contacted_on": {"zh": "接触日期", "en": "Contacted on"},
    "note": {"zh": "备注", "en": "Note"},
    "save": {"zh": "保存", "en": "Save"},
    "saved": {"zh": "已记录", "en": "Recorded"},
    "previous": {"zh": "上一页", "en": "Previous"},
    "next": {"zh": "下一页", "en": "Next"},
    "results": {"zh": "条结果", "en": "results"},
    "profile": {"zh": "企业概况", "en": "Profile"},
    "neighbours": {"zh": "园区上下游企业", "en": "Park firms up- and downstream"},
    "outreach": {"zh": "接触记录", "en": "Outreach history"},
    "candidates": {"zh": "可填补该环节的企业", "en": "Firms that would fill this link"},
    "firms": {"zh": "园区企业", "en": "Park firms"},
    "target": {"zh": "目标", "en": "Target"},
    "gap_type": {"zh": "缺口类型", "en": "Gap type"},
    "version": {"zh": "版本", "en": "Version"},
    "run": {"zh": "训练运行", "en": "Training run"},
    "snapshot": {"zh": "数据快照", "en": "Data snapshot"},
    "metrics": {"zh": "留出集指标", "en": "Holdout metrics"},
    "not_ready": {"zh": "服务尚未就绪", "en": "The service is not ready"},
    "p_land_prior": {
        "zh": "落地概率为先验值（无历史接触数据）",
        "en": "P(land) is a prior (no outreach history)",
    },
    "p_land_roster": {
        "zh": "落地概率来自园区企业画像与区位因素（无历史接触数据）",
        "en": "P(land) from the park's roster and location factors (no outreach history)",
    },
    "similar": {"zh": "相似企业", "en": "Similar firms"},
    "similarity": {"zh": "相似度", "en": "similarity"},
    "similar_note": {
        "zh": "按产品、产业链环节、行业、规模和所有制相似（不看地点），已排除园区企业",
        "en": "alike in products, chain links, industry, size and ownership (not location); park firms left out",
    },
    "pending": {"zh": "待定", "en": "Pending"},
    "no_response": {"zh": "未回应", "en": "No response"},
    "declined": {"zh": "拒绝", "en": "Declined"},
    "interested": {"zh": "有意向", "en": "Interested"},
    "signed": {"zh": "已签约", "en": "Signed"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    "in_park": {"zh": "园区企业", "en": "In the park"},
    "my_leads": {"zh": "我的线索", "en": "My leads"},
    "board": {"zh": "招商看板", "en": "Pipeline board"},
    "team": {"zh": "团队", "en": "Team"},
    "people": {"zh": "用户管理", "en": "People"},
    "stage": {"zh": "阶段", "en": "Stage"},
    "lost_reason": {"zh": "流失原因", "en": "Why lost"},
    "owner": {"zh": "负责人", "en": "Owner"},
    "unassigned": {"zh": "未分配", "en": "unassigned"},
    "follow_up": {"zh": "下次跟进", "en": "Next follow-up"},
    "overdue": {"zh": "已逾期", "en": "overdue"},
    "due_today": {"zh": "今日到期", "en": "due today"},
    "stage_age": {"zh": "本阶段天数", "en": "Days in stage"},
    "expected_value": {"zh": "期望价值（万元）", "en": "Expected value, 10k CNY"},
    "count": {"zh": "数量", "en": "Count"},
    "add_to_pipeline": {"zh": "加入跟进", "en": "Add to pipeline"},
    "history": {"zh": "变更记录", "en": "History"},
    "stale": {"zh": "停滞线索", "en": "Stale leads"},
    "stale_days": {"zh": "停滞天数阈值", "en": "Stale after days"},
    "open_leads": {"zh": "在跟进", "en": "Open"},
    "all_leads": {"zh": "全部", "en": "All"},
    "oldest": {"zh": "最久停留（天）", "en": "Oldest stage (days)"},
    "reassign": {"zh": "转派", "en": "Reassign"},
    "conflict": {
        "zh": "该线索已被他人修改，请查看最新内容后重试",
        "en": "Someone changed this lead since you opened it; look at it again and retry",
    },
    "no_leads": {"zh": "暂无线索", "en": "No leads"},
    "create_user": {"zh": "新建用户", "en": "Create user"},
    "display_name": {"zh": "姓名", "en": "Name"},
    "role": {"zh": "角色", "en": "Role"},
    "status": {"zh": "状态", "en": "Status"},
    "active": {"zh": "正常", "en": "active"},
    "disabled": {"zh": "已停用", "en": "disabled"},
    "locked": {"zh": "已锁定", "en": "locked"},
    "disable": {"zh": "停用", "en": "Disable"},
    "enable": {"zh": "启用", "en": "Enable"},
    "reset_password": {"zh": "重置密码", "en": "Reset password"},
    "new_password": {"zh": "新密码", "en": "New password"},
    "track": {"zh": "赛道", "en": "Track"},
    "edit": {"zh": "修改", "en": "Edit"},
}


def _vocabulary(prefix: str, labels: Mapping[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    """Page strings of a vocabulary defined elsewhere (its labels are data: zh, en)."""
    return {f"{prefix}_{key}": {"zh": zh, "en": en} for key, (zh, en) in labels.items()}


# the pipeline's stages, loss reasons and roles as ``data.pipeline`` names them; gap types as
# ``industry_graph.gaps`` does
STRINGS: Final = (
    _PAGE_STRINGS
    | _vocabulary("stage", STAGE_LABELS)
    | _vocabulary("lost", LOST_REASON_LABELS)
    | _vocabulary("role", ROLE_LABELS)
    | {gap: {"zh": zh, "en": en} for gap, (zh, en, _) in GAP_LABELS.items()}
)


def translator(lang: str) -> dict[str, str]:
    """The strings of one language (``zh`` or ``en``)."""
    lang = lang if lang in {"zh", "en"} else "zh"
    return {key: value[lang] for key, value in STRINGS.items()}
