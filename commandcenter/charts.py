"""Charts of the console as plain SVG geometry, drawn by the templates (no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from directory.selectors import HourActivity

BAR_WIDTH = 4  # px per hour: 7 days are 672 px
PLOT_HEIGHT = 120
TOP = 10  # room above the tallest bar
AXIS = 18  # room below the plot for the day labels


@dataclass(frozen=True)
class Bar:
    hour: datetime
    success: int
    failure: int
    x: int
    success_y: float
    success_height: float
    failure_y: float
    failure_height: float


@dataclass(frozen=True)
class DayMark:
    x: int
    label: str


@dataclass(frozen=True)
class ActivityChart:
    bars: list[Bar]
    days: list[DayMark]
    width: int
    height: int
    baseline: int
    peak: int
    successes: int
    failures: int


def activity_chart(hours: list[HourActivity]) -> ActivityChart:
    """Stacked bars, one per hour: successes from the baseline, failures on top, scaled
    so the busiest hour fills the plot."""
    peak = max((h.success + h.failure for h in hours), default=0)
    scale = PLOT_HEIGHT / peak if peak else 0.0
    baseline = TOP + PLOT_HEIGHT
    bars, days = [], []
    for i, h in enumerate(hours):
        x = i * BAR_WIDTH
        ok, bad = round(h.success * scale, 1), round(h.failure * scale, 1)
        bars.append(
            Bar(
                hour=h.hour,
                success=h.success,
                failure=h.failure,
                x=x,
                success_y=baseline - ok,
                success_height=ok,
                failure_y=baseline - ok - bad,
                failure_height=bad,
            )
        )
        if h.hour.hour == 0:
            days.append(DayMark(x=x, label=h.hour.strftime("%a %d")))
    return ActivityChart(
        bars=bars,
        days=days,
        width=len(hours) * BAR_WIDTH,
        height=baseline + AXIS,
        baseline=baseline,
        peak=peak,
        successes=sum(h.success for h in hours),
        failures=sum(h.failure for h in hours),
    )
