"""Charts drawn on the server as inline SVG: no script, no external asset.

::

    bar_chart([3, 0, 5], ["06", "07", "08"], title="Check-ins by hour")
    sparkline([1, 4, 2, 6])

Both return :class:`markupsafe.Markup` ready to place in a template; every label is
escaped.  Each bar carries a ``<title>`` (shown on hover, read by screen readers) and
the whole chart an ``aria-label``.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def _nice_max(value: int) -> int:
    """The smallest of 2, 5, 10, 20, 50, ... that is at least *value* (at least 2, so
    the middle grid line is a whole number)."""
    if value <= 2:
        return 2
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def bar_chart(
    values: Sequence[int],
    labels: Sequence[str],
    *,
    title: str,
    width: int = 640,
    height: int = 180,
    label_every: int = 1,
    css_class: str = "chart",
) -> Markup:
    """A bar chart of *values* (non-negative integers), one bar per label.

    :param title: what the chart shows (its accessible name).
    :param label_every: write every n-th label under the axis (all bars keep a tooltip).
    """
    if len(values) != len(labels):
        raise ValueError("one label per value")
    left, right, top, bottom = 34, 6, 8, 20
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max(values, default=0))
    n = max(1, len(values))
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.78)
    parts = [
        f'<svg class="{escape(css_class)}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">'
            f"{round(top_value * frac)}</text>"
        )
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        h = plot_h * value / top_value
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        if i % max(1, label_every) == 0:
            parts.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{height - 6}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(
    values: Sequence[int], *, width: int = 96, height: int = 22, label: str = ""
) -> Markup:
    """A small trend line of *values* (e.g. visits per week), oldest first."""
    if not values:
        return Markup("")
    top_value = max(1, max(values))
    step = (width - 4) / max(1, len(values) - 1)
    points = " ".join(
        f"{2 + i * step:.1f},{height - 2 - (height - 4) * v / top_value:.1f}"
        for i, v in enumerate(values)
    )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f'<polyline fill="none" points="{points}"/></svg>'
    )
