"""The console's page of the plan's figures (``/console/report``): one month of
:mod:`idp.reports.signins`, with two bar charts drawn on the server (sign-ins and distinct people
by level of assurance, lowest level first) and the table per service and commune."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from idp.reports.signins import MonthReport, level_rank
from idp.ui.filters import VIETNAM_TIME

BAR_HEIGHT, GAP, LABEL_WIDTH, PLOT_WIDTH = 22, 8, 110, 520


@dataclass(frozen=True)
class LevelBar:
    level: str
    count: int
    y: int
    width: float


@dataclass(frozen=True)
class LevelChart:
    bars: tuple[LevelBar, ...]
    total: int
    height: int
    label_width: int = LABEL_WIDTH
    plot_width: int = PLOT_WIDTH


def level_chart(counts: dict[str, int]) -> LevelChart:
    """Horizontal bars, one per level reached, scaled to the largest."""
    levels = sorted(counts, key=level_rank)
    top = max(counts.values(), default=0) or 1
    bars = tuple(LevelBar(level, counts[level], GAP + i * (BAR_HEIGHT + GAP),
                          round(PLOT_WIDTH * counts[level] / top, 1)) for i, level in enumerate(levels))
    return LevelChart(bars, sum(counts.values()), GAP + len(bars) * (BAR_HEIGHT + GAP))


def current_month(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(VIETNAM_TIME).strftime("%Y-%m")


def report_context(report: MonthReport) -> dict[str, Any]:
    """What console/report.html shows of a month."""
    document = report.as_json()
    signins = sum(row["signins"] for row in document["rows"])
    vneid = sum(group.vneid_signins for group in report.groups.values())
    return {"month": report.month, "rows": document["rows"], "signins": signins,
            "signins_chart": level_chart(report.signins_by_level()),
            "people_chart": level_chart(report.people_by_highest_level()),
            "vneid_share": round(100 * vneid / signins, 1) if signins else None}
