"""Chart geometry for the console's dashboards: pure functions from numbers to SVG coordinates.

Nothing here renders markup or touches the database; templates in `templates/components/charts/`
draw the shapes as inline SVG, styled by `static/console/charts.css` (classes only, so the strict
CSP holds and Pico's variables give the dark scheme its colours).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

# The daily chart's drawing box, in viewBox units (the SVG scales to its container's width).
DAILY_WIDTH = 720
DAILY_HEIGHT = 240
DAILY_MARGIN_LEFT = 48
DAILY_MARGIN_RIGHT = 12
DAILY_MARGIN_TOP = 12
DAILY_MARGIN_BOTTOM = 32
# The horizontal bar chart: one row per category.
BARS_WIDTH = 360
BARS_LABEL_WIDTH = 90
BARS_VALUE_WIDTH = 60
BARS_ROW_HEIGHT = 28
BARS_BAR_HEIGHT = 18


@dataclass(frozen=True)
class Tick:
    """An axis tick: where it sits along its axis and the number it stands for."""

    position: float
    value: int


@dataclass(frozen=True)
class DayLabel:
    x: float
    day: date


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    value: int


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    day: date
    value: int


@dataclass(frozen=True)
class DailySeries:
    """One series of the daily chart, drawn as bars or as a line with a marker on each day.

    The two kinds differ in shape, not only in colour, so the legend reads without colour.
    """

    name: str
    kind: str  # "bar" or "line"
    css_class: str
    values: tuple[int, ...]
    bars: tuple[Bar, ...] = ()
    points: tuple[Point, ...] = ()

    @property
    def path(self) -> str:
        """The SVG path data joining the points (empty for a bar series)."""
        return " ".join(f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.points))

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class DailyRow:
    """One row of the chart's data table: a day and each series' number on it."""

    day: date
    values: tuple[int, ...]


@dataclass(frozen=True)
class DailyChart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    y_ticks: tuple[Tick, ...]
    x_labels: tuple[DayLabel, ...]
    series: tuple[DailySeries, ...]
    rows: tuple[DailyRow, ...]

    @property
    def is_empty(self) -> bool:
        return all(series.total == 0 for series in self.series)

    @property
    def tick_label_x(self) -> float:
        """Where the y-axis numbers end (they are right-aligned against the plot)."""
        return self.plot_left - 6

    @property
    def day_label_y(self) -> float:
        return self.plot_bottom + 18


@dataclass(frozen=True)
class HorizontalBar:
    key: str
    label: str
    value: int
    css_class: str
    y: float
    width: float
    label_y: float
    value_x: float


@dataclass(frozen=True)
class BarsChart:
    width: int
    height: int
    bar_left: float
    bar_height: float
    bars: tuple[HorizontalBar, ...]

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)

    @property
    def label_x(self) -> float:
        """Where the category names end (they are right-aligned against the bars)."""
        return self.bar_left - 8


def nice_ticks(maximum: int, *, target: int = 5) -> list[int]:
    """Round tick values from 0 up to at least `maximum`: steps of 1, 2 or 5 times a power of ten.

    Counts are whole numbers, so the step is never below 1; an all-zero series still gets an
    axis of 0..1 so the chart keeps its shape.
    """
    maximum = max(int(maximum), 1)
    raw = maximum / target
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    top = math.ceil(maximum / step) * step
    return list(range(0, top + 1, step))


def daily_chart(*, days: Sequence[date], series: Sequence[tuple[str, str, Sequence[int]]],
                label_every: int = 7) -> DailyChart:
    """Lay out a chart of per-day counts: the first series as bars, any further ones as lines.

    `series` is `(name, css_class, values)` with one value per day of `days`. Days are labelled
    every `label_every` days counting back from the last, so the latest day always has a label.
    """
    days = list(days)
    if any(len(values) != len(days) for _name, _css, values in series):
        raise ValueError("Every series needs one value per day.")
    left, right = DAILY_MARGIN_LEFT, DAILY_WIDTH - DAILY_MARGIN_RIGHT
    top, bottom = DAILY_MARGIN_TOP, DAILY_HEIGHT - DAILY_MARGIN_BOTTOM
    ticks = nice_ticks(max((max(values, default=0) for _n, _c, values in series), default=0))
    scale_top = ticks[-1]

    def y_of(value: int) -> float:
        return bottom - (bottom - top) * value / scale_top

    slot = (right - left) / max(len(days), 1)
    bar_width = slot * 0.7
    laid_out = []
    for index, (name, css_class, values) in enumerate(series):
        values = tuple(int(v) for v in values)
        if index == 0:
            bars = tuple(
                Bar(x=round(left + i * slot + (slot - bar_width) / 2, 2), y=round(y_of(v), 2),
                    width=round(bar_width, 2), height=round(bottom - y_of(v), 2), day=day, value=v)
                for i, (day, v) in enumerate(zip(days, values, strict=True))
            )
            laid_out.append(DailySeries(name=name, kind="bar", css_class=css_class, values=values, bars=bars))
        else:
            points = tuple(
                Point(x=round(left + (i + 0.5) * slot, 2), y=round(y_of(v), 2), day=day, value=v)
                for i, (day, v) in enumerate(zip(days, values, strict=True))
            )
            laid_out.append(DailySeries(name=name, kind="line", css_class=css_class, values=values, points=points))
    last = len(days) - 1
    return DailyChart(
        width=DAILY_WIDTH, height=DAILY_HEIGHT, plot_left=left, plot_right=right, plot_top=top, plot_bottom=bottom,
        y_ticks=tuple(Tick(position=round(y_of(t), 2), value=t) for t in ticks),
        x_labels=tuple(DayLabel(x=round(left + (i + 0.5) * slot, 2), day=day)
                       for i, day in enumerate(days) if (last - i) % label_every == 0),
        series=tuple(laid_out),
        rows=tuple(DailyRow(day=day, values=tuple(s.values[i] for s in laid_out)) for i, day in enumerate(days)),
    )


def bars_chart(*, items: Sequence[tuple[str, str, int]], css_prefix: str = "chart-bar") -> BarsChart:
    """Lay out one horizontal bar per `(key, label, value)`, longest for the largest value.

    Each bar carries its label and number as text beside it, so no reader depends on its colour.
    """
    bar_left = BARS_LABEL_WIDTH
    span = BARS_WIDTH - BARS_LABEL_WIDTH - BARS_VALUE_WIDTH
    largest = max((value for _k, _l, value in items), default=0)
    bars = []
    for index, (key, label, value) in enumerate(items):
        y = index * BARS_ROW_HEIGHT + (BARS_ROW_HEIGHT - BARS_BAR_HEIGHT) / 2
        # A non-zero count keeps a sliver, so it never looks the same as nothing.
        width = round(max(span * value / largest, 2), 2) if value else 0
        bars.append(HorizontalBar(
            key=key, label=label, value=int(value), css_class=f"{css_prefix}-{key}", y=y, width=width,
            label_y=y + BARS_BAR_HEIGHT / 2, value_x=bar_left + width + 6,
        ))
    return BarsChart(width=BARS_WIDTH, height=max(len(bars), 1) * BARS_ROW_HEIGHT, bar_left=bar_left,
                     bar_height=BARS_BAR_HEIGHT, bars=tuple(bars))
