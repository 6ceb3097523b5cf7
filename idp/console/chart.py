"""Failed sign-ins over time, drawn on the server as SVG bars (no script on the page).

Buckets are hours or days in Vietnam's time, ending with the one that holds ``now``. Counted:
``signin`` and ``signin.mfa`` events with outcome ``failure`` (wrong password, unknown user,
locked, upstream errors ...). One grouped query counts every bucket, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select

from idp.audit.chain import utc_ms
from idp.storage.db import Database
from idp.storage.schema import audit_events
from idp.ui.filters import VIETNAM_TIME

FAILED_SIGNIN_TYPES = ("signin", "signin.mfa")
#: period name -> (bucket length, number of buckets)
PERIODS: dict[str, tuple[timedelta, int]] = {
    "24h": (timedelta(hours=1), 24),
    "48h": (timedelta(hours=1), 48),
    "7d": (timedelta(days=1), 7),
    "30d": (timedelta(days=1), 30),
}
DEFAULT_PERIOD = "24h"

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 40


@dataclass(frozen=True)
class Bar:
    start: datetime  # in Vietnam's time
    count: int
    x: float
    y: float
    width: float
    height: float
    label: str | None  # shown under every few bars


@dataclass(frozen=True)
class Chart:
    period: str
    hourly: bool
    bars: tuple[Bar, ...]
    total: int
    ticks: tuple[tuple[int, float], ...]  # (value, y) of the horizontal grid lines
    reasons: tuple[tuple[str, int], ...]  # most frequent reasons in the period
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM
    right_edge: int = WIDTH - RIGHT


def bucket_starts(period: str, now: datetime) -> list[datetime]:
    """The starts of the period's buckets in Vietnam's time, oldest first; the last holds ``now``."""
    step, count = PERIODS[period]
    local = now.astimezone(VIETNAM_TIME)
    if step == timedelta(hours=1):
        last = local.replace(minute=0, second=0, microsecond=0)
    else:
        last = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return [last - step * (count - 1 - i) for i in range(count)]


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 ... at least ``value`` (for the top grid line)."""
    ceiling = 1
    while True:
        for factor in (1, 2, 5):
            if ceiling * factor >= value:
                return ceiling * factor
        ceiling *= 10


def failed_signins(db: Database, period: str, now: datetime) -> Chart:
    """Count failed sign-ins per bucket of ``period`` and lay the bars out."""
    step, _ = PERIODS[period]
    starts = bucket_starts(period, now)
    edges = [utc_ms(s) for s in starts] + [utc_ms(starts[-1] + step)]
    c = audit_events.c
    window = and_(c.type.in_(FAILED_SIGNIN_TYPES), c.outcome == "failure",
                  c.occurred_at >= edges[0], c.occurred_at < edges[-1])
    bucket = case(*((c.occurred_at < edges[i + 1], i) for i in range(len(starts))), else_=len(starts))
    counts = [0] * len(starts)
    with db.connect() as conn:
        for index, number in conn.execute(select(bucket.label("b"), func.count()).where(window).group_by("b")):
            if 0 <= int(index) < len(counts):
                counts[int(index)] = int(number)
        reasons = conn.execute(
            select(func.coalesce(c.reason, "unknown").label("r"), func.count().label("n")).where(window)
            .group_by("r").order_by(func.count().desc(), "r").limit(8)).all()
    return _layout(period, step == timedelta(hours=1), starts, counts,
                   tuple((str(r), int(n)) for r, n in reasons))


def _layout(period: str, hourly: bool, starts: list[datetime], counts: list[int],
            reasons: tuple[tuple[str, int], ...]) -> Chart:
    top = _nice_ceiling(max(max(counts), 1))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / len(starts)
    every = max(1, len(starts) // 12)
    bars = []
    for i, (start, count) in enumerate(zip(starts, counts, strict=True)):
        height = plot_height * count / top
        label = None
        if i % every == 0:
            label = f"{start:%H}h" if hourly else f"{start:%d/%m}"
        bars.append(Bar(start=start, count=count, x=round(LEFT + i * slot + slot * 0.1, 1),
                        y=round(TOP + plot_height - height, 1), width=round(slot * 0.8, 1),
                        height=round(height, 1), label=label))
    values = sorted({0, top, *((top // 2,) if top % 2 == 0 else ())})
    ticks = tuple((value, round(TOP + plot_height - plot_height * value / top, 1)) for value in values)
    return Chart(period=period, hourly=hourly, bars=tuple(bars), total=sum(counts), ticks=ticks, reasons=reasons)
