"""What each metric a training run logs means, in Chinese and English: for the model page,
`attract train --help` and `attract metrics`. A key is matched against the patterns in order;
``{0}``… in a text are the pattern's groups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class MetricName:
    """A metric's name in words and what it says."""

    zh: str
    en: str
    explain: str
    higher_is_better: bool | None = True


_RANKINGS: Final = {
    "model": ("模型排序", "the model's ranking"),
    "oracle": ("真值排序（上限）", "the truth's ranking (ceiling)"),
    "value_only": ("仅按价值", "value only"),
    "tax_only": ("仅按税收", "tax only"),
    "gap_only": ("仅按补链", "chain gaps only"),
    "sign_only": ("仅按签约概率", "signing only"),
    "largest_revenue": ("按营收最大", "largest revenue first"),
    "random": ("随机", "random order"),
}

PATTERNS: Final[tuple[tuple[str, MetricName], ...]] = (
    (
        r"ndcg_at_50",
        MetricName(
            "排序质量 NDCG@50",
            "Ranking quality NDCG@50",
            "How close the model's top 50 per campaign come to the best possible order of what the "
            "contacted firms really did (signed > interested > declined); 1 is perfect.",
        ),
    ),
    (
        r"value_captured_at_50",
        MetricName(
            "前 50 名捕获价值",
            "Value captured in the top 50",
            "Share of the realised value of a campaign's signings that the model's top 50 held.",
        ),
    ),
    (
        r"rank_(\w+)_(lambdarank|profile)_ndcg_at_(\d+)",
        MetricName(
            "{0} 赛道 {1} NDCG@{2}",
            "{0} track, {1}: NDCG@{2}",
            "Ranking quality of one track's alternative ranker (learning-to-rank or profile match).",
        ),
    ),
    (
        r"rank_(\w+?)_ndcg_at_(\d+)",
        MetricName(
            "{0} NDCG@{1}",
            "NDCG@{1}: {0}",
            "The same ranking quality for a comparison order (the truth is the ceiling, random the floor).",
        ),
    ),
    (
        r"rank_(\w+?)_value_captured_at_(\d+)",
        MetricName(
            "{0} 前 {1} 名捕获价值",
            "Value captured in the top {1}: {0}",
            "Share of realised value held by the first {1} of a comparison order.",
        ),
    ),
    (
        r"propensity_auc",
        MetricName(
            "落地概率 AUC",
            "P(land) AUC",
            "Chance that a firm that signed got a higher P(land) than one that did not (0.5 = coin).",
        ),
    ),
    (
        r"propensity_oracle_auc",
        MetricName(
            "真值概率 AUC（上限）",
            "AUC of the true probabilities (ceiling)",
            "The same AUC for the generator's true signing probabilities: the best any model could do.",
        ),
    ),
    (
        r"propensity_brier",
        MetricName(
            "落地概率 Brier 分数",
            "P(land) Brier score",
            "Mean squared error of P(land) against signed (1) or not (0); lower is better.",
            False,
        ),
    ),
    (
        r"propensity_calibration_error",
        MetricName(
            "落地概率校准误差",
            "P(land) calibration error",
            "Mean gap between predicted P(land) and the signed share, over ten bins; lower is better.",
            False,
        ),
    ),
    (
        r"propensity_base_rate",
        MetricName(
            "留出集签约率",
            "Holdout signing rate",
            "Share of holdout contacts that signed (context, not a score).",
            None,
        ),
    ),
    (
        r"propensity_holdout_rows",
        MetricName("留出集接触数", "Holdout contacts", "Contacts in the holdout campaigns.", None),
    ),
    (
        r"tax_(with_history_|no_history_)?p10_p90_coverage",
        MetricName(
            "税收 P10–P90 覆盖率{0}",
            "Tax P10–P90 coverage {0}",
            "Share of firms whose actual tax fell in the predicted P10–P90 band; 80 % is calibrated.",
        ),
    ),
    (
        r"tax_(with_history_|no_history_)?share_within_x2",
        MetricName(
            "税收 ×2 以内占比{0}",
            "Tax within ×2 {0}",
            "Share of firms whose actual tax lies between half and twice the P50.",
        ),
    ),
    (
        r"tax_(with_history_|no_history_)?median_abs_log10_error",
        MetricName(
            "税收中位对数误差{0}",
            "Tax median |log10 error| {0}",
            "Median of |log10(P50 / actual)|: 0.1 ≈ 26 % off; lower is better.",
            False,
        ),
    ),
    (
        r"tax_(with_history_|no_history_)?n",
        MetricName(
            "税收留出企业数{0}",
            "Tax holdout firms {0}",
            "Firm-years the tax model was judged on.",
            None,
        ),
    ),
    (
        r"roster_weight_(\w+)",
        MetricName(
            "园区画像权重：{0}",
            "Roster-fit weight: {0}",
            "Weight the roster fit learned for a factor (log-odds per unit).",
            None,
        ),
    ),
    (
        r"roster_(\w+)",
        MetricName(
            "园区画像：{0}",
            "Roster fit: {0}",
            "A figure of the roster fit's district hold-out (without outreach history).",
            None,
        ),
    ),
    (
        r"pipeline_(\w+)",
        MetricName(
            "线索管道：{0}",
            "Pipeline: {0}",
            "Resolved leads of the service's pipeline the run learned from.",
            None,
        ),
    ),
    (
        r"propensity_calibration_cv_(brier|error)_(\w+)",
        MetricName(
            "校准方法比较：{1} 的 {0}",
            "Calibrators compared: {0} of {1}",
            "Out-of-fold Brier score or calibration error of one calibrator on the calibration "
            "contacts (the rule picks the lowest Brier among those calibrated no worse than the "
            "step isotonic one).",
            False,
        ),
    ),
    (
        r"stage_p_land_(\w+)",
        MetricName(
            "阶段落地概率：{0}",
            "P(land) at stage: {0}",
            "Share of the pipeline's leads entering this stage that land (learned from its moves, "
            "with the park YAML's prior where they are few).",
            None,
        ),
    ),
    (
        r"stage_(\w+)",
        MetricName(
            "阶段概率的数据：{0}",
            "Stage probabilities: {0}",
            "Pipeline moves the P(land)-by-stage table was learned from.",
            None,
        ),
    ),
    (
        r"share_(\w+?)_(\w+)_p50",
        MetricName(
            "{0} 赛道 {1} 的园区可得税收比例（P50）",
            "{0} track, {1}: share of the group's tax the park collects (P50)",
            "The median share of the group's tax a unit of this landing form books in the park: "
            "learnt from landed firms' tax records, shrunk toward the park YAML's prior "
            "(training.shares); the prior where no firm has landed in this form.",
            None,
        ),
    ),
    (
        r"share_(\w+?)_(\w+)_firms",
        MetricName(
            "{0} 赛道 {1}：学习比例的落地企业数",
            "{0} track, {1}: landed firms the share was learnt from",
            "Landed firms with a tax record after their landing year in this form (0: the prior).",
            None,
        ),
    ),
    (
        r"share_(\w+?)_(\w+)_sd_log",
        MetricName(
            "{0} 赛道 {1}：比例中位数的不确定度（对数标准差）",
            "{0} track, {1}: uncertainty of the median share (log-sd)",
            "Posterior standard deviation of the log median share (smaller with more landed firms).",
            False,
        ),
    ),
    (
        r"monitor_(\w+)",
        MetricName(
            "落地后实际税收：{0}",
            "Realised tax: {0}",
            "Realised against predicted tax of landed firms (attract monitor).",
            None,
        ),
    ),
)
_COMPILED: Final = tuple((re.compile(rf"^{p}$"), m) for p, m in PATTERNS)
_GROUP_WORDS: Final = {
    "with_history_": ("（有纳税记录）", "(with tax history)"),
    "no_history_": ("（无纳税记录）", "(without tax history)"),
    None: ("", ""),
}

# the figures the model page compares over versions
HEADLINE: Final = (
    "ndcg_at_50",
    "propensity_auc",
    "tax_p10_p90_coverage",
    "tax_share_within_x2",
)


def _words(group: str | None, lang: str) -> str:
    if group in _GROUP_WORDS:
        zh, en = _GROUP_WORDS[group]
        return zh if lang == "zh" else en
    if group in _RANKINGS:
        zh, en = _RANKINGS[group]
        return zh if lang == "zh" else en
    return (group or "").replace("_", " ")


def describe(key: str) -> tuple[str, str, str, bool | None]:
    """(name zh, name en, explanation, higher is better) of a metric key; the key itself when
    no pattern knows it."""
    for pattern, name in _COMPILED:
        found = pattern.match(key)
        if found:
            zh = name.zh.format(*(_words(g, "zh") for g in found.groups())).strip()
            en = name.en.format(*(_words(g, "en") for g in found.groups())).strip()
            groups = [g or "" for g in found.groups()]
            return zh, en, name.explain.format(*groups), name.higher_is_better
    return key, key, "", None


def glossary() -> str:
    """The patterns' names and explanations, one paragraph each (for ``--help``)."""
    lines = []
    for pattern, name in PATTERNS:
        shown = pattern.replace(r"(\w+?)", "<x>").replace(r"(\w+)", "<x>").replace(r"(\d+)", "<k>")
        shown = re.sub(r"\(([a-z_|]+)\)\??", "<x>", shown)
        lines.append(f"{shown}: {name.explain.format('<x>', '<k>', '<k>')}")
    return "\n\n".join(lines)
