"""Charts with matplotlib's object API (no pyplot state): PNG files for MLflow runs, SVG text for
the pages (text kept as text, so the browser draws the Chinese with its own fonts)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

Draw = Callable[[Axes], object]
BLUE, GREY, RED, GREEN = "#1f5fa8", "#888888", "#c0392b", "#2e7d32"


def _figure(draw: Draw, size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size)
    draw(fig.add_subplot())
    fig.tight_layout()
    return fig


def save_png(path: Path, draw: Draw, *, size: tuple[float, float] = (7, 4.5)) -> None:
    """Draw into a PNG file."""
    _figure(draw, size).savefig(path, dpi=110)


def svg(draw: Draw, *, size: tuple[float, float] = (4.2, 2.6)) -> str:
    """Draw into SVG markup (no XML prologue) for embedding in a page."""
    buffer = io.StringIO()
    fig = _figure(draw, size)
    with _text_as_text():
        fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


class _text_as_text:
    """``svg.fonttype = none`` for one save: text stays text, not glyph paths."""

    def __enter__(self) -> None:
        import matplotlib

        self._old = matplotlib.rcParams["svg.fonttype"]
        matplotlib.rcParams["svg.fonttype"] = "none"

    def __exit__(self, *exc: object) -> None:
        import matplotlib

        matplotlib.rcParams["svg.fonttype"] = self._old


def kpi_chart(
    series: Sequence[tuple[int, float]],
    *,
    target: tuple[float, float],
    target_year: int,
    projected: float | None,
    unit: str,
    lang: str = "en",
) -> Draw:
    """A KPI's yearly values, its target (a band when it is a range) at the target year and the
    projection (dashed) from the latest value."""

    def draw(ax: Axes) -> None:
        years = [y for y, _ in series]
        values = [v for _, v in series]
        actual, goal, projection = (
            ("实际", "目标", "预测") if lang == "zh" else ("actual", "target", "projected")
        )
        ax.plot(years, values, "o-", color=BLUE, label=actual)
        low, high = target
        if high > low:
            ax.fill_between([years[0], target_year], low, high, color=GREEN, alpha=0.15)
        ax.axhline(low, color=GREEN, linestyle=":", linewidth=1.2, label=goal)
        if projected is not None and years:  # the open pipeline landing now, at its P(land)
            ax.plot([years[-1], years[-1]], [values[-1], projected], "--", color=BLUE, alpha=0.6)
            ax.plot([years[-1]], [projected], "o", mfc="white", color=BLUE, label=projection)
        ax.set_xticks(sorted({*years, target_year}))
        ax.tick_params(labelsize=8)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_ylabel(unit, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best", frameon=False)

    return draw


def realised_chart(firms: pd.DataFrame, lang: str) -> Draw:
    """Realised tax against the P50 promised, log–log, with each firm's P10–P90 band; inside the
    band blue, outside red; the diagonal is 'paid what was promised'."""

    def draw(ax: Axes) -> None:
        p50 = firms["tax_p50_wan_cny"].to_numpy(float)
        real = firms["realised_tax"].to_numpy(float)
        inside = firms["in_band"].to_numpy(bool)
        low = p50 - firms["tax_p10_wan_cny"].to_numpy(float)
        high = firms["tax_p90_wan_cny"].to_numpy(float) - p50
        for mask, colour, label in (
            (inside, BLUE, "在区间内" if lang == "zh" else "in P10–P90"),
            (~inside, RED, "在区间外" if lang == "zh" else "outside"),
        ):
            ax.errorbar(
                p50[mask],
                real[mask],
                xerr=[low[mask], high[mask]],
                fmt="o",
                ms=4,
                color=colour,
                ecolor=colour,
                alpha=0.6,
                elinewidth=0.8,
                label=label,
            )
        positive = np.concatenate([p50[p50 > 0], real[real > 0]])
        if len(positive):
            lo, hi = positive.min() / 2, positive.max() * 2
            ax.plot([lo, hi], [lo, hi], "--", color=GREY)
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel("预测税收 P50（万元）" if lang == "zh" else "predicted tax P50 (10k CNY)")
        ax.set_ylabel("实际税收（万元）" if lang == "zh" else "realised tax (10k CNY)")
        ax.legend(fontsize=8, frameon=False)
        ax.grid(alpha=0.3)

    return draw


def versions_chart(frame: pd.DataFrame, metrics: Sequence[tuple[str, str]]) -> Draw:
    """Headline metrics over model versions (``frame``: column ``version`` and the metric keys;
    ``metrics``: (key, label))."""

    def draw(ax: Axes) -> None:
        x = frame["version"].astype(str).to_numpy()
        for key, label in metrics:
            if key in frame:
                ax.plot(x, frame[key].to_numpy(float), "o-", label=label)
        ax.set_xlabel("version")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False)

    return draw


def occupancy_chart(
    quarters: Sequence[str], occupancy: Sequence[float | None], *, now: str, lang: str = "en"
) -> Draw:
    """A building's occupancy (share of the area there to let that is let) by quarter, the
    quarters after ``now`` (what is let or coming free as the tables hold it) dashed."""

    def draw(ax: Axes) -> None:
        x = np.arange(len(quarters))
        y = np.array([np.nan if v is None else 100 * v for v in occupancy], dtype=float)
        past = np.array([q <= now for q in quarters])
        label_past, label_ahead = (
            ("已发生", "已知租约") if lang == "zh" else ("so far", "as leased")
        )
        ax.plot(x[past], y[past], "-", color=BLUE, label=label_past)
        if (~past).any():
            ahead = np.flatnonzero(~past)
            start = max(ahead[0] - 1, 0)
            ax.plot(x[start:], y[start:], "--", color=BLUE, alpha=0.6, label=label_ahead)
        step = max(1, len(quarters) // 8)
        ax.set_xticks(x[::step], [quarters[i] for i in range(0, len(quarters), step)])
        ax.set_ylim(0, 105)
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", labelrotation=45)
        ax.set_ylabel("%", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right", frameon=False)

    return draw


def building_tax_chart(
    years: Sequence[int], tax: Sequence[float], *, threshold: float, lang: str = "en"
) -> Draw:
    """A building's firms' tax per year (万元) as bars, with the 亿元楼 threshold."""

    def draw(ax: Axes) -> None:
        over = [t >= threshold for t in tax]
        ax.bar(years, tax, color=[GREEN if o else BLUE for o in over])
        ax.axhline(
            threshold,
            color=RED,
            linestyle=":",
            linewidth=1.2,
            label="1 亿元" if lang == "zh" else "1 亿元 (100 M CNY)",
        )
        ax.set_xticks(list(years))
        ax.tick_params(labelsize=8)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_ylabel("万元", fontsize=8)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=7, loc="best", frameon=False)

    return draw
