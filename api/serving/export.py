"""Spreadsheet exports an officer can hand on.

Excel: the page's column names in the chosen language, numbers as numbers with a format (万元
without decimals, probabilities and shares as percentages, dates as dates), the header row
frozen, filters on, column widths from the content, text cells a spreadsheet would read as a
formula neutralised, and a second sheet saying what was exported (filters, model version, data
snapshot, time, rows). CSV keeps the machine column names (UTF-8 with a byte-order mark).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Final, Literal

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
Kind = Literal["text", "int", "wan", "pct", "float", "date"]
FORMATS: Final[dict[Kind, str]] = {
    "int": "0",
    "wan": "#,##0",
    "pct": "0.0%",
    "float": "#,##0.00",
    "date": "yyyy-mm-dd",
    "text": "@",
}
# column → (中文, English, kind); a column not listed keeps its machine name as text
COLUMNS: Final[dict[str, tuple[str, str, Kind]]] = {
    "rank": ("排名", "Rank", "int"),
    "overall_rank": ("总排名", "Overall rank", "int"),
    "id": ("线索编号", "Lead id", "int"),
    "enterprise_id": ("企业代码", "Enterprise id", "text"),
    "name": ("企业名称", "Firm", "text"),
    "province": ("省份", "Province", "text"),
    "city": ("城市", "City", "text"),
    "industry_code": ("行业代码", "Industry code", "text"),
    "links": ("产业链环节", "Chain links", "text"),
    "score": ("评分（期望价值，万元）", "Score (expected value, 10k CNY)", "wan"),
    "p_land": ("落地概率", "P(land)", "pct"),
    "tax_p10_wan_cny": ("园区可得税收 P10（万元）", "Park tax P10 (10k CNY)", "wan"),
    "tax_p50_wan_cny": ("园区可得税收 P50（万元）", "Park tax P50 (10k CNY)", "wan"),
    "tax_p90_wan_cny": ("园区可得税收 P90（万元）", "Park tax P90 (10k CNY)", "wan"),
    "gap_value": ("缺口分值", "Gap score", "float"),
    "chain_value_wan_cny": ("补链价值（万元/年）", "Chain value (10k CNY a year)", "wan"),
    "group_tax_p50_wan_cny": ("集团税收 P50（万元）", "Group tax P50 (10k CNY)", "wan"),
    "landing_form": ("落地形式代码", "Landing form id", "text"),
    "landing_form_zh": ("落地形式", "Landing form (Chinese)", "text"),
    "landing_form_en": ("落地形式（英文）", "Landing form", "text"),
    "in_park_tax_share": ("园区可得集团税收比例", "Share of the group's tax collected here", "pct"),
    "in_park_tax_share_p10": ("可得比例 P10", "Share P10", "pct"),
    "in_park_tax_share_p90": ("可得比例 P90", "Share P90", "pct"),
    "value_wan_cny": ("落地后价值（万元）", "Value if it lands (10k CNY)", "wan"),
    "expected_value_wan_cny": ("期望价值（万元）", "Expected value (10k CNY)", "wan"),
    "plan_value_wan_cny": ("计划价值（万元）", "Plan value (10k CNY)", "wan"),
    "plan_score_wan_cny": (
        "含计划期望价值（万元）",
        "Expected value with the plan (10k CNY)",
        "wan",
    ),
    "reasons_zh": ("推荐理由", "Reasons (Chinese)", "text"),
    "reasons_en": ("推荐理由（英文）", "Reasons", "text"),
    "p_land_source": ("落地概率来源", "P(land) source", "text"),
    "model_version": ("模型版本", "Model version", "text"),
    "snapshot_id": ("数据快照", "Data snapshot", "text"),
    "track": ("赛道", "Track", "text"),
    "stage": ("阶段代码", "Stage", "text"),
    "stage_zh": ("阶段", "Stage (Chinese)", "text"),
    "lost_reason": ("流失原因", "Lost reason", "text"),
    "owner": ("负责人", "Owner", "text"),
    "follow_up_on": ("下次跟进", "Follow up on", "date"),
    "overdue": ("已逾期", "Overdue", "text"),
    "stage_age_days": ("本阶段天数", "Days in stage", "int"),
    "contacted_on": ("首次接触", "Contacted on", "date"),
    "closed_on": ("结案日期", "Closed on", "date"),
    "note": ("备注", "Note", "text"),
    "version": ("版本", "Version", "int"),
    "updated_at": ("更新时间", "Updated at", "text"),
    "kpi_id": ("指标代码", "KPI id", "text"),
    "kpi_name": ("指标", "KPI", "text"),
    "unit": ("单位", "Unit", "text"),
    "baseline": ("基期值", "Baseline", "float"),
    "baseline_source": ("基期来源", "Baseline source", "text"),
    "now": ("当前值", "Now", "float"),
    "now_year": ("当前年份", "Year", "int"),
    "target_low": ("目标（下限）", "Target (low)", "float"),
    "target_high": ("目标（上限）", "Target (high)", "float"),
    "target_year": ("目标年份", "Target year", "int"),
    "projected": ("预测值（在途线索按落地概率）", "Projected (open leads at P(land))", "float"),
    "level_baseline": ("基期水平", "Level at baseline", "wan"),
    "level_now": ("当前水平", "Level now", "wan"),
    "level_projected": ("预测水平", "Level projected", "wan"),
    "level_unit": ("水平单位", "Level unit", "text"),
    "status": ("状态", "Status", "text"),
    "not_held": ("无数据原因", "Why no data", "text"),
    "movers": ("推动最大的在途线索", "Open leads moving it most", "text"),
}
ABOUT_LABELS: Final = {
    "zh": {
        "sheet": "说明",
        "exported_at": "导出时间",
        "rows": "行数",
        "what": "内容",
        "key": "项目",
        "value": "值",
    },
    "en": {
        "sheet": "About",
        "exported_at": "Exported at",
        "rows": "Rows",
        "what": "What",
        "key": "Item",
        "value": "Value",
    },
}
MAX_WIDTH = 60


def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def header(column: str, lang: str) -> str:
    """The column's name in the language (its machine name when it has none)."""
    if column not in COLUMNS:
        return column
    zh, en, _ = COLUMNS[column]
    return zh if lang == "zh" else en


def _cell(value: object, kind: Kind) -> object:
    if value is None:
        return None
    if kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return neutralise(value)
    if (
        kind in ("int", "wan", "pct", "float")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    ):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return neutralise(" ".join(str(v) for v in value))
    return neutralise(value)


def _width(text: object) -> int:
    s = str(text) if text is not None else ""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)  # CJK characters are two wide


def to_xlsx(
    rows: Sequence[Mapping[str, object]],
    columns: Sequence[str],
    *,
    lang: str = "zh",
    title: str = "data",
    about: Mapping[str, object] | None = None,
) -> bytes:
    """An .xlsx workbook of the rows (module doc) with an about sheet. Written in openpyxl's
    write-only mode (rows streamed, a styled cell only where a number needs its format)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    kinds = [COLUMNS.get(c, (c, c, "text"))[2] for c in columns]
    for j, (column, kind) in enumerate(zip(columns, kinds, strict=True), start=1):
        sample = [header(column, lang)] + [
            format(v, ",.0f") if kind == "wan" and isinstance(v, (int, float)) else v
            for v in (r.get(column) for r in rows[:200])
        ]
        width = min(MAX_WIDTH, max(6, max(_width(v) for v in sample) + 2))
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE7F3")
    head = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=header(column, lang))
        cell.font, cell.fill = bold, fill
        head.append(cell)
    ws.append(head)
    formats = [None if k == "text" else FORMATS[k] for k in kinds]
    for row in rows:
        out: list[object] = []
        for column, kind, number_format in zip(columns, kinds, formats, strict=True):
            value = _cell(row.get(column), kind)
            if number_format is not None and value is not None and not isinstance(value, str):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = number_format
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)
    labels = ABOUT_LABELS["zh" if lang == "zh" else "en"]
    info = wb.create_sheet(labels["sheet"])
    info.column_dimensions["A"].width = 22
    info.column_dimensions["B"].width = 70
    title_cells = []
    for text in (labels["key"], labels["value"]):
        cell = WriteOnlyCell(info, value=text)
        cell.font = bold
        title_cells.append(cell)
    info.append(title_cells)
    info.append([labels["what"], title])
    info.append([labels["rows"], len(rows)])
    info.append([labels["exported_at"], datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")])
    for key, value in (about or {}).items():
        info.append([key, neutralise("" if value is None else str(value))])
    out_file = io.BytesIO()
    wb.save(out_file)
    return out_file.getvalue()


def to_csv(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel reads the Chinese), text cells neutralised."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise(row.get(k)) for k in columns})
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_response(
    rows: Sequence[Mapping[str, object]],
    columns: Sequence[str],
    *,
    name: str,
    format: str,
    lang: str = "zh",
    about: Mapping[str, object] | None = None,
    total: int | None = None,
) -> Response:
    """The rows as an attachment ``<name>.<format>`` (xlsx or csv)."""
    headers = {"Content-Disposition": f'attachment; filename="{name}.{format}"'}
    if total is not None:
        headers["X-Total-Count"] = str(total)
    if format == "xlsx":
        body = to_xlsx(rows, columns, lang=lang, title=name.split("-")[0], about=about)
        return Response(body, headers=headers, media_type=XLSX_TYPE)
    return Response(to_csv(rows, columns), media_type="text/csv; charset=utf-8", headers=headers)
