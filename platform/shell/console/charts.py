"""Charts drawn on the server as inline SVG: no JavaScript, no chart library, and
nothing the Content-Security-Policy has to allow (presentation attributes, no ``style``).

``bar_chart`` is pure: it takes labelled pairs of values and returns SVG markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 220
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 56, 28, 12
COLOURS = ("#2563eb", "#f97316")


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Sequence[int]],
    names: Sequence[str],
    *,
    title: str,
    format_value=str,
) -> Markup:
    """Grouped bars: one group per label, one bar per series. Values are >= 0."""
    peak = max([1, *(value for values in series for value in values)])
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    group_w = plot_w / max(1, len(labels))
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for step in range(5):
        value = peak * step // 4
        y = PAD_TOP + plot_h - plot_h * step / 4
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - 8}" y2="{y:.1f}" '
            f'stroke="#e5e7eb" stroke-width="1"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#6b7280">{escape(format_value(value))}</text>'
        )
    for index, label in enumerate(labels):
        x0 = PAD_LEFT + group_w * index + group_w * 0.1
        for number, values in enumerate(series):
            value = values[index]
            height = plot_h * value / peak
            parts.append(
                f'<rect x="{x0 + bar_w * number:.1f}" y="{PAD_TOP + plot_h - height:.1f}" '
                f'width="{bar_w:.1f}" height="{height:.1f}" '
                f'fill="{COLOURS[number % len(COLOURS)]}">'
                f"<title>{escape(label)} {escape(names[number])}: "
                f"{escape(format_value(value))}</title></rect>"
            )
        if index % 5 == 0 or index == len(labels) - 1:
            parts.append(
                f'<text x="{x0 + group_w * 0.4:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                f'font-size="11" fill="#6b7280">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
