"""Chart geometry: round axis ticks, bars and lines that match their numbers, and the data table rows."""

from datetime import date, timedelta

import pytest

from orgs.charts import (
    DAILY_HEIGHT,
    DAILY_MARGIN_BOTTOM,
    DAILY_MARGIN_TOP,
    bars_chart,
    daily_chart,
    nice_ticks,
)

DAYS = [date(2026, 11, 1) + timedelta(days=n) for n in range(30)]
BOTTOM = DAILY_HEIGHT - DAILY_MARGIN_BOTTOM
PLOT_HEIGHT = BOTTOM - DAILY_MARGIN_TOP


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 2, 4, 6, 8, 10]),
        (48, [0, 10, 20, 30, 40, 50]),
        (1234, [0, 500, 1000, 1500]),
        (100_000, [0, 20_000, 40_000, 60_000, 80_000, 100_000]),
    ],
)
def test_nice_ticks_are_round_and_cover_the_maximum(maximum, expected):
    assert nice_ticks(maximum) == expected


def test_nice_ticks_never_step_below_one():
    ticks = nice_ticks(2)
    assert all(b - a >= 1 for a, b in zip(ticks, ticks[1:], strict=False))


def series(values_a, values_b):
    return [("Sign-ins", "chart-sign-ins", values_a), ("Failed sign-ins", "chart-failed", values_b)]


def test_first_series_is_bars_scaled_to_the_axis_and_the_second_a_line():
    sign_ins = [0] * 30
    sign_ins[29] = 10
    sign_ins[10] = 5
    failed = [0] * 30
    failed[29] = 2
    chart = daily_chart(days=DAYS, series=series(sign_ins, failed))

    assert [t.value for t in chart.y_ticks] == [0, 2, 4, 6, 8, 10]
    bars, line = chart.series
    assert (bars.kind, line.kind) == ("bar", "line")
    assert len(bars.bars) == len(line.points) == 30
    # A full-height bar for the maximum, half height for half of it, nothing for zero.
    assert bars.bars[29].height == pytest.approx(PLOT_HEIGHT)
    assert bars.bars[29].y == pytest.approx(DAILY_MARGIN_TOP)
    assert bars.bars[10].height == pytest.approx(PLOT_HEIGHT / 2)
    assert bars.bars[0].height == 0
    assert line.points[29].y == pytest.approx(BOTTOM - PLOT_HEIGHT * 2 / 10)
    assert line.points[0].y == pytest.approx(BOTTOM)
    # Bars stay inside the plot and in day order.
    assert bars.bars[0].x >= chart.plot_left
    assert bars.bars[29].x + bars.bars[29].width <= chart.plot_right
    assert [b.x for b in bars.bars] == sorted(b.x for b in bars.bars)
    assert line.path.startswith("M")
    assert line.path.count("L") == 29
    assert (bars.total, line.total) == (15, 2)


def test_day_labels_count_back_from_the_last_day():
    chart = daily_chart(days=DAYS, series=series([0] * 30, [0] * 30))
    assert [label.day for label in chart.x_labels] == [DAYS[1], DAYS[8], DAYS[15], DAYS[22], DAYS[29]]


def test_the_data_table_has_one_row_per_day_with_each_series():
    sign_ins = list(range(30))
    failed = [n % 3 for n in range(30)]
    chart = daily_chart(days=DAYS, series=series(sign_ins, failed))
    assert len(chart.rows) == 30
    assert chart.rows[0].day == DAYS[0]
    assert chart.rows[7].values == (7, 1)


def test_an_all_zero_chart_keeps_its_axis_and_says_it_is_empty():
    chart = daily_chart(days=DAYS, series=series([0] * 30, [0] * 30))
    assert chart.is_empty
    assert [t.value for t in chart.y_ticks] == [0, 1]
    assert all(bar.height == 0 for bar in chart.series[0].bars)


def test_a_series_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="one value per day"):
        daily_chart(days=DAYS, series=series([1] * 29, [0] * 30))


def test_horizontal_bars_are_proportional_with_a_sliver_for_small_counts():
    chart = bars_chart(items=[("active", "Active", 1000), ("invited", "Invited", 250), ("suspended", "Suspended", 1),
                              ("gone", "Gone", 0)], css_prefix="chart-status")
    active, invited, suspended, gone = chart.bars
    assert invited.width == pytest.approx(active.width / 4)
    assert suspended.width == 2  # visible, though 1/1000 of the longest
    assert gone.width == 0
    assert [b.css_class for b in chart.bars] == ["chart-status-active", "chart-status-invited",
                                                 "chart-status-suspended", "chart-status-gone"]
    assert chart.total == 1251
    # Rows do not overlap and the number sits just after its bar.
    assert [b.y for b in chart.bars] == sorted(b.y for b in chart.bars)
    assert active.value_x > chart.bar_left + active.width
    assert chart.height >= 4 * chart.bar_height


def test_horizontal_bars_with_nothing_to_show():
    chart = bars_chart(items=[("pending", "Pending", 0)])
    assert chart.bars[0].width == 0
    assert chart.total == 0
    assert bars_chart(items=[]).height > 0
