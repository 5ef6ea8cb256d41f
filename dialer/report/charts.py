"""Charts as inline SVG strings: pure functions of their data, no JavaScript, no fonts to fetch.

Each chart draws its bars in its own fill colour (below), so a rendering test can find every
chart's pixels in a screenshot. A chart without bars is a short sentence, not an empty SVG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FUNNEL_FILL = "#1f6fb4"
CAUSE_FILL = "#e07b00"
TIMELINE_FILL = "#2ca02c"
HOURS_FILL = "#8e3fc5"
CHART_FILLS = (FUNNEL_FILL, CAUSE_FILL, TIMELINE_FILL, HOURS_FILL)
"""Bar colours, one per chart; used nowhere else on the page."""

_INK = "#222"
_MUTED = "#666"
_GRID = "#ddd"
_WIDTH = 1000
"""SVG user units; the SVG scales to the page width."""
_FONT = 13


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    note: str = ""
    """Text after the bar (horizontal) or above it (columns); the value when empty."""
    tooltip: str = ""


def empty_chart(text: str) -> str:
    """What stands in for a chart without data."""
    return f'<p class="empty">{escape(text)}</p>'


def bar_chart(bars: Sequence[Bar], fill: str, *, title: str, empty: str) -> str:
    """Horizontal bars, labels on the left, scaled to the largest value. ``empty`` is shown
    instead when there are no bars (zero-valued bars are drawn, as empty tracks)."""
    if not bars:
        return empty_chart(empty)
    label_w, note_w, row_h, bar_h, top = 330, 170, 30, 20, 8
    plot_w = _WIDTH - label_w - note_w
    top_value = max(b.value for b in bars) or 1
    height = top + row_h * len(bars) + 4
    parts = [_svg_open(height, title)]
    for i, bar in enumerate(bars):
        y = top + i * row_h
        width = plot_w * bar.value / top_value
        text_y = y + bar_h / 2 + _FONT / 2 - 2
        parts.append(
            f"<g><title>{escape(bar.tooltip or bar.label)}</title>"
            f'<text x="{label_w - 10}" y="{text_y:.1f}" text-anchor="end" fill="{_INK}">'
            f"{escape(_clip(bar.label, 44))}</text>"
            f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" fill="#f3f3f3"/>'
            f'<rect x="{label_w}" y="{y}" width="{width:.1f}" height="{bar_h}" fill="{fill}"/>'
            f'<text x="{label_w + plot_w + 8}" y="{text_y:.1f}" fill="{_INK}">'
            f"{escape(bar.note or _number(bar.value))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(
    bars: Sequence[Bar],
    fill: str,
    *,
    title: str,
    empty: str,
    y_max: float | None = None,
    y_unit: str = "",
    label_every: int = 1,
) -> str:
    """Vertical columns with a y axis from 0 to ``y_max`` (default: the largest value rounded
    up to a tick; ``y_unit`` is appended to tick labels) and every ``label_every``-th x
    label. ``empty`` is shown instead when there are no bars (zero-valued ones are drawn)."""
    if not bars:
        return empty_chart(empty)
    left, right, top, plot_h, bottom = 60, 10, 22, 220, 46
    plot_w = _WIDTH - left - right
    highest = y_max or max(b.value for b in bars) or 1
    step = tick_step(highest)
    ticks = math.ceil(highest / step)
    top_value = step * ticks
    height = top + plot_h + bottom
    slot = plot_w / len(bars)
    gap = min(slot * 0.2, 6.0)
    parts = [_svg_open(height, title)]
    for i in range(ticks + 1):
        value = step * i
        y = top + plot_h - plot_h * i / ticks
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{_WIDTH - right}" y2="{y:.1f}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_MUTED}">'
            f"{escape(_number(value) + y_unit)}</text>"
        )
    show_notes = len(bars) <= 31
    for i, bar in enumerate(bars):
        x = left + i * slot + gap / 2
        h = plot_h * min(bar.value, top_value) / top_value
        y = top + plot_h - h
        center = x + (slot - gap) / 2
        parts.append(f"<g><title>{escape(bar.tooltip or bar.label)}</title>")
        if h > 0:
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - gap:.1f}" height="{h:.1f}" '
                f'fill="{fill}"/>'
            )
        if show_notes and bar.note:
            parts.append(
                f'<text x="{center:.1f}" y="{y - 5:.1f}" text-anchor="middle" '
                f'font-size="11" fill="{_MUTED}">{escape(bar.note)}</text>'
            )
        if i % max(label_every, 1) == 0:
            parts.append(
                f'<text x="{center:.1f}" y="{top + plot_h + 18}" text-anchor="middle" '
                f'fill="{_INK}">{escape(bar.label)}</text>'
            )
        parts.append("</g>")
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{_WIDTH - right}" y2="{top + plot_h}" '
        f'stroke="{_MUTED}" stroke-width="1"/></svg>'
    )
    return "".join(parts)


def tick_step(top: float) -> float:
    """A round whole y-axis step (1, 2, 2.5 or 5 times a power of ten) giving at most four
    ticks up to ``top`` (> 0): counts never get fractional ticks."""
    raw = max(top / 4, 1.0)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    steps = (m * magnitude for m in (1, 2, 2.5, 5, 10))
    return next(step for step in steps if step >= raw and float(step).is_integer())


def _svg_open(height: int, title: str) -> str:
    return (
        f'<svg viewBox="0 0 {_WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" '
        f'font-family="system-ui, sans-serif" font-size="{_FONT}">'
        f"<title>{escape(title)}</title>"
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
