"""Small inline SVG charts: the report must open with no network, so no chart library is fetched.

Each function returns an ``<svg>`` string with a ``<title>`` (screen readers) and a ``data-chart`` attribute
(tests and the browser check find charts by it). Values are escaped; empty data renders a labelled
"no data" chart rather than nothing.
"""

from __future__ import annotations

from html import escape
from typing import Sequence

PALETTE = ("#2f6f9f", "#d9822b", "#3c9d5d", "#b8463f", "#7a5ea8", "#8c6d3f", "#c05a9a", "#6b7b8c")
RAG_COLOURS = {"red": "#c0392b", "amber": "#e0a526", "green": "#3c9d5d", "unknown": "#9aa5b1"}


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _empty(name: str, title: str, width: int, height: int) -> str:
    return (
        f'<svg data-chart="{escape(name)}" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="muted">No data</text></svg>'
    )


def bar_chart(
    name: str,
    title: str,
    items: Sequence[tuple[str, float]],
    *,
    width: int = 600,
    bar_height: int = 22,
    colours: dict[str, str] | None = None,
    cap: float | None = None,
) -> str:
    """Horizontal bars, one per (label, value); ``cap`` draws a reference line (e.g. the claims cap)."""
    if not items:
        return _empty(name, title, width, 60)
    label_w, pad = 250, 8
    top = 6
    height = top + len(items) * (bar_height + pad) + 10
    scale_max = max([v for _, v in items] + ([cap] if cap else [])) or 1
    plot_w = width - label_w - 70
    parts = [
        f'<svg data-chart="{escape(name)}" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_height + pad)
        w = max(1.0, plot_w * value / scale_max) if value else 0
        colour = (colours or {}).get(label, PALETTE[i % len(PALETTE)])
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_height * 0.7}" text-anchor="end" class="lbl">{escape(label)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{colour}">'
            f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
            f'<text x="{label_w + w + 5:.1f}" y="{y + bar_height * 0.7}" class="val">{_fmt(value)}</text>'
        )
    if cap:
        x = label_w + plot_w * cap / scale_max
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height}" stroke="#333" stroke-dasharray="4 3"/>'
            f'<text x="{x - 4:.1f}" y="{height - 2}" text-anchor="end" class="muted">cap {_fmt(cap)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(name: str, title: str, items: Sequence[tuple[str, float]], *, width: int = 560, height: int = 220) -> str:
    """Vertical columns (e.g. families by number of needs)."""
    if not items:
        return _empty(name, title, width, height)
    left, bottom, top = 40, 28, 16
    plot_h = height - bottom - top
    slot = (width - left - 10) / len(items)
    vmax = max(v for _, v in items) or 1
    parts = [
        f'<svg data-chart="{escape(name)}" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" x2="{width - 10}" y1="{height - bottom}" y2="{height - bottom}" stroke="#888"/>',
    ]
    for i, (label, value) in enumerate(items):
        h = plot_h * value / vmax
        x = left + i * slot + slot * 0.15
        y = height - bottom - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
            f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle" class="val">{_fmt(value)}</text>'
            f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 16}" text-anchor="middle" class="lbl">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    name: str,
    title: str,
    x_labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    width: int = 720,
    height: int = 240,
) -> str:
    """One line per series over shared x labels (the monthly trend)."""
    if not x_labels or not series:
        return _empty(name, title, width, height)
    left, bottom, top, right = 48, 30, 14, 130
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = max((max(v) for v in series.values() if v), default=1) or 1
    step = plot_w / max(1, len(x_labels) - 1)
    parts = [
        f'<svg data-chart="{escape(name)}" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 6}" y="{top + 8}" text-anchor="end" class="muted">{_fmt(vmax)}</text>',
    ]
    every = max(1, len(x_labels) // 8)
    for i, label in enumerate(x_labels):
        if i % every == 0:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{height - 10}" text-anchor="middle" class="lbl">{escape(label)}</text>'
            )
    for k, (series_name, values) in enumerate(sorted(series.items())):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(
            f"{left + i * step:.1f},{top + plot_h - plot_h * v / vmax:.1f}" for i, v in enumerate(values)
        )
        parts.append(f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(
            f'<text x="{left + plot_w + 8}" y="{top + 14 + 16 * k}" fill="{colour}" class="lbl">{escape(series_name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
