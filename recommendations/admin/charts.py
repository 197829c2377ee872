"""Server-rendered inline SVG charts for the admin (no JavaScript, no CDN).

Each function returns safe markup with every label escaped; sizes are fixed in user units and the
SVG scales with its container through ``viewBox``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#417690", "#e08e0b", "#5b9a68", "#ba2121", "#7f5aa2", "#2aa1a8", "#8c6d31", "#666666")
FONT = 'font-family="sans-serif" font-size="11"'


def _svg(chart_id: str, width: int, height: int, body: str, title: str) -> SafeString:
    return mark_safe(  # noqa: S308 - every dynamic text below goes through escape()
        f'<svg id="{escape(chart_id)}" class="rec-chart" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{body}</svg>'
    )


def _empty(chart_id: str, width: int, title: str) -> SafeString:
    body = f'<text x="8" y="20" {FONT} fill="#999">No data yet</text>'
    return _svg(chart_id, width, 32, body, title)


def hbars(
    chart_id: str,
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 420,
    maximum: float | None = None,
) -> SafeString:
    """Horizontal bars, one row per (label, value); the longest bar is ``maximum`` (default: the
    largest value)."""
    if not rows:
        return _empty(chart_id, width, title)
    top = maximum if maximum is not None else max(v for _, v in rows) or 1.0
    label_w, row_h, bar_w = 150, 20, width - 150 - 50
    parts = []
    for n, (label, value) in enumerate(rows):
        y = n * row_h
        length = max(bar_w * (value / top), 1.0) if top else 1.0
        short = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" {FONT}>{escape(short)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {value:.3g}</title></rect>'
            f'<text x="{label_w + length + 4:.1f}" y="{y + 14}" {FONT} fill="#555">{value:.2f}</text>'
        )
    return _svg(chart_id, width, row_h * len(rows) + 4, "".join(parts), title)


def columns(
    chart_id: str,
    values: Sequence[float],
    *,
    title: str,
    labels: Sequence[str] = (),
    width: int = 420,
    height: int = 110,
    every: int = 1,
) -> SafeString:
    """Vertical bars (events per day, per hour, per weekday); ``labels`` under every ``every``-th bar."""
    if not values or not any(values):
        return _empty(chart_id, width, title)
    top = max(values) or 1
    plot_h, n = height - 20, len(values)
    step = width / n
    parts = [f'<line x1="0" y1="{plot_h}" x2="{width}" y2="{plot_h}" stroke="#ccc"/>']
    for i, value in enumerate(values):
        h = plot_h * value / top
        x = i * step
        label = labels[i] if i < len(labels) else str(i)
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{plot_h - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{max(h, 0.5 if value else 0):.1f}" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}: {value:g}</title></rect>"
        )
        if labels and i % every == 0:
            anchor, tx = ("start", x) if i == 0 and len(label) > 2 else ("middle", x + step / 2)
            parts.append(
                f'<text x="{tx:.1f}" y="{height - 6}" text-anchor="{anchor}" {FONT} '
                f'fill="#555">{escape(label)}</text>'
            )
    parts.append(f'<text x="2" y="10" {FONT} fill="#555">max {top:g}</text>')
    return _svg(chart_id, width, height, "".join(parts), title)


def rfm(chart_id: str, r: int, f: int, m: int, *, title: str = "RFM position") -> SafeString:
    """A 5 x 5 grid of recency (x) by frequency (y) with the shopper's cell marked; the dot's size
    is the monetary score. Scores of 0 (never bought) leave the grid empty."""
    cell, pad = 28, 24
    size = cell * 5
    parts = []
    for i in range(5):
        for j in range(5):
            # warm towards the top right: recent and frequent
            shade = 245 - 14 * (i + j)
            parts.append(
                f'<rect class="cell" x="{pad + i * cell}" y="{j * cell}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="rgb({shade},{shade},{min(shade + 10, 255)})"/>'
            )
    parts.extend(
        f'<text x="{pad + k * cell + cell / 2}" y="{size + 14}" text-anchor="middle" {FONT}>{k + 1}</text>'
        f'<text x="{pad - 8}" y="{size - k * cell - cell / 2 + 4}" text-anchor="middle" {FONT}>{k + 1}</text>'
        for k in range(5)
    )
    parts.append(f'<text x="{pad + size / 2}" y="{size + 28}" text-anchor="middle" {FONT}>recency →</text>')
    parts.append(f'<text x="4" y="{size / 2}" {FONT} transform="rotate(-90 8 {size / 2})">frequency →</text>')
    if r and f:
        cx = pad + (r - 1) * cell + cell / 2
        cy = size - (f - 1) * cell - cell / 2
        radius = 4 + 2 * max(m, 1)
        parts.append(
            f'<circle class="marker" cx="{cx}" cy="{cy}" r="{radius}" fill="{PALETTE[3]}" fill-opacity="0.85">'
            f"<title>R{r} F{f} M{m}</title></circle>"
        )
    else:
        parts.append(f'<text x="{pad + 6}" y="{size / 2}" {FONT} fill="#999">no purchases yet</text>')
    return _svg(chart_id, pad + size + 8, size + 34, "".join(parts), title)


def panels(
    chart_id: str,
    series: dict[str, Sequence[float]],
    *,
    title: str,
    labels: Sequence[str] = (),
    width: int = 640,
    panel_height: int = 78,
    per_row: int = 2,
) -> SafeString:
    """Small multiples: one panel per series, busiest first, each on its own scale (its maximum
    is written in the panel's heading), so a kind with 5 events a day is as readable as one with
    5,000. Names and numbers sit inside their panel: nothing to clip."""
    if not series or not any(any(v) for v in series.values()):
        return _empty(chart_id, width, title)
    ordered = sorted(series.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    gap, head, foot = 16, 16, 14 if labels else 4
    panel_w = (width - gap * (per_row - 1)) / per_row
    plot_h = panel_height - head - foot
    rows = -(-len(ordered) // per_row)
    parts = []
    for k, (name, values) in enumerate(ordered):
        x0 = (k % per_row) * (panel_w + gap)
        y0 = (k // per_row) * (panel_height + gap)
        colour = PALETTE[k % len(PALETTE)]
        top = max(values) if values else 0
        n = len(values)
        step = panel_w / max(n - 1, 1)
        base = y0 + head + plot_h
        heading = f"{name} · {sum(values):,g} in all · max {top:,g}/day"
        budget = int(panel_w / 6.2)  # ~6 user units per character at font-size 11
        if len(heading) > budget:
            heading = heading[: budget - 1] + "…"
        points = " ".join(
            f"{x0 + i * step:.1f},{base - (plot_h * v / top if top else 0):.1f}" for i, v in enumerate(values)
        )
        parts.append(
            f'<g class="panel" data-kind="{escape(name)}">'
            f'<text class="heading" x="{x0:.1f}" y="{y0 + 11}" {FONT} fill="{colour}">{escape(heading)}</text>'
            f'<line x1="{x0:.1f}" y1="{base:.1f}" x2="{x0 + panel_w:.1f}" y2="{base:.1f}" stroke="#ccc"/>'
            f'<line x1="{x0:.1f}" y1="{y0 + head:.1f}" x2="{x0 + panel_w:.1f}" y2="{y0 + head:.1f}" '
            f'stroke="#eee"/>'
            f'<polyline class="series" points="{points}" fill="none" stroke="{colour}" stroke-width="2">'
            f"<title>{escape(name)}: {sum(values):,g} events, at most {top:,g} a day</title></polyline>"
        )
        if labels:
            for i, anchor in ((0, "start"), (n - 1, "end")):
                parts.append(
                    f'<text x="{x0 + i * step:.1f}" y="{base + 12:.1f}" text-anchor="{anchor}" {FONT} '
                    f'fill="#777">{escape(labels[i])}</text>'
                )
        parts.append("</g>")
    height = rows * panel_height + (rows - 1) * gap
    return _svg(chart_id, width, height, "".join(parts), title)


def lines(
    chart_id: str,
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    labels: Sequence[str] = (),
    width: int = 460,
    height: int = 150,
) -> SafeString:
    """Several series on one shared scale from 0 (model quality over versions): a polyline and a
    dot per point (``None`` leaves a gap), a legend inside the top left, first and last labels."""
    values = [v for vs in series.values() for v in vs if v is not None]
    if not values:
        return _empty(chart_id, width, title)
    top = max(values) or 1.0
    head, foot, left = 18 + 14 * len(series), 16, 4
    plot_h, n = height - head - foot, max(len(vs) for vs in series.values())
    step = (width - 2 * left) / max(n - 1, 1)
    base = head + plot_h
    parts = [
        f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#ccc"/>',
        f'<line x1="0" y1="{head}" x2="{width}" y2="{head}" stroke="#eee"/>',
        f'<text x="{width - 2}" y="{head - 3}" text-anchor="end" {FONT} fill="#777">{top:.3f}</text>',
    ]
    for k, (name, vs) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        points = [(left + i * step, base - plot_h * v / top, v) for i, v in enumerate(vs) if v is not None]
        last = next((v for v in reversed(vs) if v is not None), None)
        legend = f"{name}: {last:.4f}" if last is not None else name
        parts.append(
            f'<g class="series" data-series="{escape(name)}">'
            f'<text x="{left}" y="{12 + 14 * k}" {FONT} fill="{colour}">{escape(legend)}</text>'
            f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)}" fill="none" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        for i, (x, y, v) in enumerate(points):
            label = labels[i] if i < len(labels) else str(i)
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)} {escape(label)}: {v:.4f}</title></circle>"
            )
        parts.append("</g>")
    if labels:
        for i, anchor in ((0, "start"), (len(labels) - 1, "end")):
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{height - 4}" text-anchor="{anchor}" {FONT} '
                f'fill="#777">{escape(labels[i])}</text>'
            )
    return _svg(chart_id, width, height, "".join(parts), title)
