"""What the console pages read from the audit trail: filtered searches from a page's query string,
one person's and one client's timeline, newest first with the audit API's cursors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_

from idp.audit.query import AuditQuery, Page, decode_cursor
from idp.audit.query import page_of as audit_page_of
from idp.audit.types import OUTCOMES
from idp.storage.db import Database
from idp.storage.schema import audit_events
from idp.ui.filters import VIETNAM_TIME

PAGE_SIZE = 50
FILTER_FIELDS = ("since", "until", "subject", "username", "client_id", "ip", "type", "outcome")
_MAX_LENGTH = {"subject": 255, "username": 255, "client_id": 255, "ip": 64, "type": 64}


@dataclass(frozen=True)
class ConsoleSearch:
    """A search as the page's form gives it: the raw values (to fill the form again), the query
    they make, and the fields that could not be understood (shown next to the field)."""

    values: dict[str, str]
    query: AuditQuery
    invalid: tuple[str, ...] = ()
    cursor: str | None = None

    def link(self, **changes: str | None) -> dict[str, str]:
        """The query parameters of this search with ``changes`` (None removes a parameter)."""
        params = {k: v for k, v in self.values.items() if v}
        for name, value in changes.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        return params


def parse_local_time(text: str) -> datetime:
    """``2025-11-22T08:00`` from a ``datetime-local`` field (Vietnam time, as the pages show times),
    a date, or an ISO date-time with an offset. ValueError otherwise."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=VIETNAM_TIME)


def parse_search(params: Mapping[str, str]) -> ConsoleSearch:
    """The search a console page's query string asks for; blank fields are no filter."""
    values = {name: (params.get(name) or "").strip() for name in FILTER_FIELDS}
    invalid: list[str] = []
    filters: dict[str, Any] = {}
    for name in ("since", "until"):
        if values[name]:
            try:
                filters[name] = parse_local_time(values[name])
            except ValueError:
                invalid.append(name)
    for name, limit in _MAX_LENGTH.items():
        if values[name]:
            if len(values[name]) > limit:
                invalid.append(name)
            else:
                filters[name] = values[name]
    if values["outcome"]:
        if values["outcome"] in OUTCOMES:
            filters["outcome"] = values["outcome"]
        else:
            invalid.append("outcome")
    cursor = (params.get("cursor") or "").strip() or None
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except ValueError:
            invalid.append("cursor")
            cursor = None
    return ConsoleSearch(values=values, query=AuditQuery(**filters), invalid=tuple(invalid), cursor=cursor)


def page_of(db: Database, statement: Select[Any], *, cursor: str | None = None) -> Page:
    """One console page of a statement over ``audit_events``, newest first, as the audit API pages."""
    return audit_page_of(db, statement, limit=PAGE_SIZE, cursor=cursor)


def search_page(db: Database, search: ConsoleSearch) -> Page:
    return page_of(db, search.query.statement(), cursor=search.cursor)


def subject_timeline(db: Database, search: ConsoleSearch, subject_id: str, usernames: Iterable[str]) -> Page:
    """Events of one person: those naming the subject, and attempts under their usernames (failed
    sign-ins carry only the username that was typed)."""
    query = replace(search.query, subject=None, username=None)
    names = [n for n in usernames if n]
    who = audit_events.c.subject == subject_id
    if names:
        who = or_(who, audit_events.c.username.in_(names))
    return page_of(db, query.statement().where(who), cursor=search.cursor)


def client_timeline(db: Database, search: ConsoleSearch, client_id: str) -> Page:
    """Events of one relying party."""
    return page_of(db, replace(search.query, client_id=client_id).statement(), cursor=search.cursor)
