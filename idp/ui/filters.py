"""Jinja filters of the pages: localized names, dates in Vietnam's time, grouped secrets."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

#: Vietnam has one time zone and no daylight saving time.
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")


def localized(value: Any, locale: str | None = None) -> str:
    """A display name given as a string or as ``{"vi": ..., "en": ...}`` (Vietnamese as fallback)."""
    if isinstance(value, Mapping):
        return str(value.get(locale or "vi") or value.get("vi") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def format_datetime(value: Any, locale: str = "vi") -> str:
    """``31/12/2025 14:05`` (Vietnamese) or ``2025-12-31 14:05`` (English), in Vietnam's time.
    Naive datetimes are taken as UTC; strings are shown as they are."""
    if isinstance(value, datetime):
        moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(VIETNAM_TIME)
        return moment.strftime("%d/%m/%Y %H:%M" if locale == "vi" else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y" if locale == "vi" else "%Y-%m-%d")
    return "" if value is None else str(value)


def grouped(secret: str, size: int = 4) -> str:
    """``JBSW Y3DP EHPK 3PXP`` for easier typing of a base32 secret."""
    return " ".join(secret[i:i + size] for i in range(0, len(secret), size))
