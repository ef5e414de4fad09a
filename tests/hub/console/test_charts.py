"""Inline SVG charts and QR codes: sized to the data, labels escaped."""

from __future__ import annotations

import re

import pytest

from hub.console.charts import bar_chart, sparkline
from hub.console.qr import qr_svg


def _heights(svg: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([0-9.]+)"', svg)]


def test_bars_are_proportional_on_a_round_scale() -> None:
    svg = str(bar_chart([0, 5, 10], ["a", "b", "c"], title="Visits"))
    heights = _heights(svg)
    assert heights[0] == 0 and heights[2] == pytest.approx(2 * heights[1])
    assert ">10</text>" in svg and ">5</text>" in svg  # axis: 0, 5, 10
    assert 'aria-label="Visits"' in svg and "<title>b: 5</title>" in svg
    assert _heights(str(bar_chart([7], ["x"], title="t")))[0] < 152  # 7 on a scale of 10
    small = str(bar_chart([1, 0], ["a", "b"], title="t"))
    for label in (">0</text>", ">1</text>", ">2</text>"):  # whole numbers for one visit
        assert label in small


def test_labels_and_titles_are_escaped() -> None:
    svg = str(bar_chart([1], ['<script>"'], title="<b>x</b>"))
    assert "<script>" not in svg and "&lt;script&gt;&#34;" in svg and "&lt;b&gt;" in svg
    with pytest.raises(ValueError):
        bar_chart([1, 2], ["one"], title="t")


def test_empty_data_and_sparklines() -> None:
    assert "<svg" in str(bar_chart([], [], title="nothing"))
    assert str(sparkline([])) == ""
    line = str(sparkline([0, 2, 4], label="weeks"))
    points = re.search(r'points="([^"]+)"', line).group(1).split()  # type: ignore[union-attr]
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[0] > ys[1] > ys[2]


def test_qr_codes_are_inline_svg() -> None:
    svg = str(qr_svg('{"hub":"http://hub","token":"ghc_x"}'))
    assert svg.startswith("<svg") and "<title>QR code</title>" in svg and "<path" in svg
