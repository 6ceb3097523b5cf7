"""The console's queries on both SQL backends: failed sign-ins counted per hour and day (one
grouped query), one person's timeline including attempts under their username, filter parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

from idp.audit.events import AuditEvent
from idp.audit.sql import SqlAuditLog
from idp.console.chart import bucket_starts, failed_signins
from idp.console.queries import parse_search, subject_timeline
from idp.storage.sql import SqlStorage
from idp.ui.filters import VIETNAM_TIME

NOW = datetime(2025, 11, 22, 10, 30, tzinfo=UTC)  # 17:30 in Vietnam


def record_at(log: SqlAuditLog, when: datetime, event: AuditEvent) -> None:
    with mock.patch("idp.audit.sql.datetime") as clock:
        clock.now.return_value = when
        log.record(event)


def test_failed_signins_per_hour_and_day(storage: SqlStorage) -> None:
    log = SqlAuditLog(storage.db)
    fail = AuditEvent(type="signin", outcome="failure", reason="wrong_password", username="a")
    for minutes in (5, 20, 25):  # this hour (17:00-18:00 Vietnam time)
        record_at(log, NOW - timedelta(minutes=minutes), fail)
    record_at(log, NOW - timedelta(hours=3), AuditEvent(type="signin.mfa", outcome="failure", reason="invalid_code"))
    record_at(log, NOW - timedelta(hours=3), AuditEvent(type="signin", outcome="success"))  # not a failure
    record_at(log, NOW - timedelta(hours=30), fail)  # outside 24 h, inside 7 days
    record_at(log, NOW - timedelta(days=40), fail)  # outside everything

    day = failed_signins(storage.db, "24h", NOW)
    counts = [bar.count for bar in day.bars]
    assert len(counts) == 24 and counts[-1] == 3 and counts[-4] == 1 and sum(counts) == day.total == 4
    assert day.bars[-1].start == datetime(2025, 11, 22, 17, 0, tzinfo=VIETNAM_TIME)
    assert dict(day.reasons) == {"wrong_password": 3, "invalid_code": 1}
    tallest = max(day.bars, key=lambda bar: bar.height)
    assert tallest is day.bars[-1] and tallest.y + tallest.height == day.baseline

    week = failed_signins(storage.db, "7d", NOW)
    assert [bar.count for bar in week.bars][-2:] == [1, 4] and week.total == 5
    assert bucket_starts("7d", NOW)[0] == datetime(2025, 11, 16, tzinfo=VIETNAM_TIME)


def test_empty_chart_still_draws(storage: SqlStorage) -> None:
    chart = failed_signins(storage.db, "48h", NOW)
    assert len(chart.bars) == 48 and chart.total == 0 and all(bar.height == 0 for bar in chart.bars)


def test_subject_timeline_includes_attempts_under_the_username(storage: SqlStorage) -> None:
    log = SqlAuditLog(storage.db)
    log.record(AuditEvent(type="signin", outcome="failure", username="canbo01", reason="wrong_password"))
    log.record(AuditEvent(type="signin", subject="s-1", username="canbo01"))
    log.record(AuditEvent(type="token.issued", subject="s-1", client_id="portal"))
    log.record(AuditEvent(type="signin", subject="s-2", username="other"))
    page = subject_timeline(storage.db, parse_search({}), "s-1", ["canbo01"])
    assert [e["seq"] for e in page.events] == [3, 2, 1]
    failures = subject_timeline(storage.db, parse_search({"outcome": "failure"}), "s-1", ["canbo01"])
    assert [e["seq"] for e in failures.events] == [1]


def test_form_values_are_vietnam_time_and_bad_ones_are_flagged() -> None:
    search = parse_search({"since": "2025-11-22T08:00", "until": "2025-11-23", "outcome": "maybe",
                           "cursor": "forged", "username": " canbo01 "})
    assert search.query.since == datetime(2025, 11, 22, 1, 0, tzinfo=UTC)
    assert search.query.until == datetime(2025, 11, 22, 17, 0, tzinfo=UTC)
    assert search.query.outcome is None and search.cursor is None and search.query.username == "canbo01"
    assert set(search.invalid) == {"outcome", "cursor"}
