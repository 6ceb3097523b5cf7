"""Sign-ins of one month, per service and commune, from the audit trail.

Every successful ``signin`` event is one sign-in (with a second factor it is recorded once the
second factor passed, at the level reached). Per (service, unit) of the month:

- sign-ins by method (the adapter: ``local``, ``ldap``, ``vneid``, ``dvcqg``, ...) and level of
  assurance (the acr token), and the distinct people behind each such cell;
- distinct people by the highest level each reached in the month;
- the share of sign-ins federated from VNeID (adapters of type ``vneid``; a sign-in through the
  national portal counts as the portal's, whatever the portal asked of VNeID).

The month is a calendar month in Vietnam's time (UTC+7), the time the plan's figures are read in.
People are the audit trail's subjects (internal ids, never shown); the report holds counts only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from idp.audit.chain import utc_ms
from idp.oidc.internal_clients import LANDING_PAGES
from idp.reports.units import Unit, Units
from idp.storage.db import Database
from idp.storage.schema import audit_events
from idp.ui.filters import VIETNAM_TIME
from policies.loa import TOKENS

VIETNAM = VIETNAM_TIME


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``YYYY-MM`` -> [start, end) in UTC, the month read in Vietnam's time."""
    try:
        if not (len(month) == 7 and month[4] == "-"):  # strptime alone takes 2026-1 too
            raise ValueError(month)
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=VIETNAM)
    except ValueError:
        raise ValueError(f"tháng không hợp lệ / invalid month {month[:20]!r}: use YYYY-MM, e.g. 2026-11") from None
    end = (start + timedelta(days=32)).replace(day=1)
    return start.astimezone(UTC), end.astimezone(UTC)


def level_token(acr: str | None) -> str:
    """The acr token of an event's acr URI (``none`` when the event has none)."""
    token = (acr or "").rsplit("/acr/", 1)[-1]
    return token if token in TOKENS else "none"


def level_rank(token: str) -> int:
    return TOKENS.index(token) if token in TOKENS else -1


@dataclass
class Group:
    """The sign-ins of one service at one unit."""

    signins: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    people_per_cell: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    highest: dict[str, str] = field(default_factory=dict)  # person -> highest level token
    vneid_signins: int = 0

    @property
    def total(self) -> int:
        return sum(self.signins.values())

    def people_by_level(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for token in self.highest.values():
            counts[token] += 1
        return dict(counts)


@dataclass(frozen=True)
class MonthReport:
    month: str
    groups: Mapping[tuple[str, Unit], Group]  # (client id, unit) -> its sign-ins

    def people_by_highest_level(self) -> dict[str, int]:
        """Distinct people of the whole month by the highest level each reached at any service."""
        highest: dict[str, str] = {}
        for group in self.groups.values():
            for person, level in group.highest.items():
                if level_rank(level) > level_rank(highest.get(person, "none")):
                    highest[person] = level
                else:
                    highest.setdefault(person, level)
        counts: dict[str, int] = defaultdict(int)
        for level in highest.values():
            counts[level] += 1
        return dict(counts)

    def signins_by_level(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for group in self.groups.values():
            for (_, level), count in group.signins.items():
                counts[level] += count
        return dict(counts)

    def as_json(self) -> dict[str, Any]:
        """Exact counts (for the provider's operators; the open data is :mod:`idp.reports.opendata`)."""
        rows = []
        for (client_id, unit), group in sorted(self.groups.items(), key=lambda item: (item[0][1].code, item[0][0])):
            rows.append({
                "service": client_id, "unit_code": unit.code, "unit_name": unit.name,
                "signins": group.total,
                "signins_by_method_and_level": [
                    {"method": method, "level": level, "signins": count,
                     "people": len(group.people_per_cell[method, level])}
                    for (method, level), count in sorted(group.signins.items())],
                "people": len(group.highest),
                "people_by_highest_level": group.people_by_level(),
                "vneid_share": round(group.vneid_signins / group.total, 4) if group.total else None,
            })
        return {"month": self.month, "rows": rows}


def build_report(month: str, events: Iterable[Mapping[str, Any]], units: Units,
                 vneid_adapters: Collection[str]) -> MonthReport:
    """Aggregate successful ``signin`` events (``subject``, ``client_id``, ``adapter``, ``acr``)."""
    groups: dict[tuple[str, Unit], Group] = {}
    for event in events:
        subject, client_id = event.get("subject"), event.get("client_id")
        if not subject or not client_id or client_id in LANDING_PAGES:  # the provider's own pages: no service
            continue
        key = (client_id, units.of(client_id))
        group = groups.get(key) or groups.setdefault(key, Group())
        method, level = event.get("adapter") or "none", level_token(event.get("acr"))
        group.signins[method, level] += 1
        group.people_per_cell[method, level].add(subject)
        if level_rank(level) > level_rank(group.highest.get(subject, "none")):
            group.highest[subject] = level
        else:
            group.highest.setdefault(subject, level)
        if method in vneid_adapters:
            group.vneid_signins += 1
    return MonthReport(month, groups)


def signin_events(db: Database, month: str, *, batch: int = 5000) -> Iterator[Mapping[str, Any]]:
    """The month's successful ``signin`` events, in sequence order, read in batches (a month may
    hold millions)."""
    start, end = month_bounds(month)
    c = audit_events.c
    after = 0
    while True:
        with db.connect() as conn:
            rows = conn.execute(
                select(c.seq, c.subject, c.client_id, c.adapter, c.acr)
                .where(c.type == "signin", c.outcome == "success", c.occurred_at >= utc_ms(start),
                       c.occurred_at < utc_ms(end), c.seq > after)
                .order_by(c.seq).limit(batch)).mappings().all()
        if not rows:
            return
        yield from (dict(row) for row in rows)
        after = int(rows[-1]["seq"])
