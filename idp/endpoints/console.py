"""``/console``: pages for security staff over the audit trail.

- ``GET /console``: search and filter events (time range, subject, username, client, IP, type,
  outcome), newest first, with cursor pagination;
- ``GET /console/subjects/{subject_id}``: one person's timeline;
- ``GET /console/clients/{client_id}``: one relying party's timeline;
- ``GET /console/failed-signins``: failed sign-ins per hour or day, as server-drawn SVG bars;
- ``GET /console/report?month=YYYY-MM``: the month's sign-in figures for the digital-government plan
  (:mod:`idp.reports.signins`), per level of assurance, service and commune.

Access (see :mod:`idp.console.access`): a staff account (local, or the agency's directory) holding
the ``auditor`` role, signed in with two factors, the second at most 15 minutes old, through the
``vnidp-console`` internal client. Without a session the page starts that sign-in (staff sources
only; an enrolled TOTP or passkey is asked for right after the password); a session with one
factor (or an older second) while a second is enrolled is sent to the second-factor page; anyone
else gets a 403 page saying why (not a staff account, not an auditor, no second factor enrolled). Every page
an auditor opens is itself recorded (``admin.action``, ``details.action = "console.view"``), and
so is every refusal. The pages only read: their forms are GET; the one POST (sign out) carries
the CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from idp.audit.query import Page
from idp.audit.types import ADMIN_ACTION, DENIED, EVENT_TYPES
from idp.console.access import Auditor, Refusal, check_auditor
from idp.console.chart import DEFAULT_PERIOD, FAILED_SIGNIN_TYPES, PERIODS, failed_signins
from idp.console.directory import audit_database, person, registered_client
from idp.console.queries import ConsoleSearch, client_timeline, parse_search, search_page, subject_timeline
from idp.console.report import current_month, report_context
from idp.endpoints.common import answer, browser_of, current_session, flow_of, provider_of
from idp.oidc.internal_clients import console_request
from idp.reports.signins import build_report, month_bounds, signin_events
from idp.reports.units import Units, UnitsFileError
from idp.ui.i18n import Translator, locale_for
from idp.ui.render import render_page
from idp.web.context import audit_context

router = APIRouter()

#: The choices of the type filter: every known type, and a prefix per family.
EVENT_TYPE_CHOICES = sorted({*EVENT_TYPES, "consent.denied",
                             *(f"{t.split('.')[0]}.*" for t in EVENT_TYPES if "." in t)})


def auditor_name(request: Request) -> str | None:
    """``app.state.audit_auditor_check``: the auditor's username when this request's SSO session
    may use the console (so ``GET /audit/events`` works from the console), else None."""
    provider = getattr(request.app.state, "provider", None)
    if provider is None:
        return None
    verdict = check_auditor(provider, current_session(request))
    return verdict.username if isinstance(verdict, Auditor) else None


def _gate(request: Request) -> Auditor | Response:
    """The auditor, or the response that replaces the page (a sign-in, or the 403 page)."""
    provider = provider_of(request)
    session = current_session(request)
    verdict = check_auditor(provider, session)
    if isinstance(verdict, Auditor):
        return verdict
    if verdict is Refusal.SIGN_IN:
        return answer(request, flow_of(request).own_page(console_request(provider.issuer), browser_of(request), session,
                                                         page="resume"))
    if verdict is Refusal.NEEDS_MFA:  # signed in with a password only: ask for the enrolled second factor
        return answer(request, flow_of(request).own_page(console_request(provider.issuer), browser_of(request), session,
                                                         page="mfa", prompt={
            "kind": "mfa", "reason_id": "mfa_required", "adapters": [], "scopes": [], "claims": []}))
    assert session is not None
    provider.record(ADMIN_ACTION, context=audit_context(request, session.id), outcome=DENIED,
                    subject=session.subject_id, username=session.username, reason=verdict.value,
                    details={"action": "console.open", "path": request.url.path})
    enrol = "/account/totp" if verdict is Refusal.NO_SECOND_FACTOR else None
    return render_page(request, "console/forbidden.html", {"reason": verdict.value, "enrol_url": enrol},
                       status_code=403)


def _record_view(request: Request, auditor: Auditor, page: str, filters: dict[str, Any]) -> None:
    session = current_session(request)
    provider_of(request).record(
        ADMIN_ACTION, context=audit_context(request, session.id if session else None),
        subject=auditor.subject_id, username=auditor.username,
        details={"action": "console.view", "page": page, "filters": filters},
    )


def _page_context(request: Request, auditor: Auditor, search: ConsoleSearch, page: Page, path: str,
                  section: str) -> dict[str, Any]:
    events = [{**e, "local_time": datetime.fromisoformat(e["time"].replace("Z", "+00:00"))} for e in page.events]
    older = f"{path}?{urlencode(search.link(cursor=page.next_cursor))}" if page.next_cursor else None
    newest = f"{path}?{urlencode(search.link(cursor=None))}".rstrip("?") if search.cursor else None
    return {"auditor_name": auditor.username, "section": section, "search": search,
            "event_types": EVENT_TYPE_CHOICES, "events": events, "older_url": older, "newest_url": newest}


def _filters(search: ConsoleSearch) -> dict[str, Any]:
    return {k: v for k, v in search.values.items() if v}


@router.get("/console")
def console_search(request: Request) -> Response:
    auditor = _gate(request)
    if not isinstance(auditor, Auditor):
        return auditor
    search = parse_search(request.query_params)
    page = search_page(audit_database(provider_of(request)), search)
    _record_view(request, auditor, "search", _filters(search))
    return render_page(request, "console/search.html",
                       _page_context(request, auditor, search, page, "/console", "search"))


@router.get("/console/subjects/{subject_id}")
def console_subject(request: Request, subject_id: str) -> Response:
    auditor = _gate(request)
    if not isinstance(auditor, Auditor):
        return auditor
    provider = provider_of(request)
    t = Translator(locale_for(request))
    subject_id = subject_id[:255]
    subject, account = person(provider, subject_id)
    facts = [(t("console.filter.subject"), subject_id)]
    if subject is not None:
        facts.append((t("console.subject.kind"), subject.kind))
        if subject.claims.get("name"):
            facts.append((t("console.subject.name"), str(subject.claims["name"])))
    if account is not None:
        facts.append((t("console.filter.username"), account.username))
    search = parse_search(request.query_params)
    page = subject_timeline(audit_database(provider), search, subject_id, [account.username] if account else [])
    return _timeline(request, auditor, search, page, kind="subject", filter_name="subject", target_id=subject_id,
                     heading=t("console.subject.heading"), facts=facts, gone=subject is None)


@router.get("/console/clients/{client_id}")
def console_client(request: Request, client_id: str) -> Response:
    auditor = _gate(request)
    if not isinstance(auditor, Auditor):
        return auditor
    provider = provider_of(request)
    t = Translator(locale_for(request))
    client_id = client_id[:255]
    client = registered_client(provider, client_id)
    facts = [(t("console.filter.client_id"), client_id)]
    if client is not None and client.name:
        facts.append((t("console.client.name"), client.name))
    search = parse_search(request.query_params)
    page = client_timeline(audit_database(provider), search, client_id)
    heading = t("console.client.heading", client_name=client.name if client and client.name else client_id)
    return _timeline(request, auditor, search, page, kind="client", filter_name="client_id", target_id=client_id,
                     heading=heading, facts=facts, gone=client is None and not client_id.startswith("vnidp-"))


def _timeline(request: Request, auditor: Auditor, search: ConsoleSearch, page: Page, *, kind: str,
              filter_name: str, target_id: str, heading: str, facts: list[tuple[str, str]], gone: bool) -> Response:
    """One person's or one client's events: the view is audited, then the timeline page rendered."""
    _record_view(request, auditor, kind, {filter_name: target_id, **_filters(search)})
    path = f"/console/{kind}s/{quote(target_id, safe='')}"
    context = _page_context(request, auditor, search, page, path, "timeline")
    context.update(kind=kind, target_id=target_id, heading=heading, facts=facts, gone=gone, action=path)
    return render_page(request, "console/timeline.html", context)


@router.get("/console/failed-signins")
def console_chart(request: Request) -> Response:
    auditor = _gate(request)
    if not isinstance(auditor, Auditor):
        return auditor
    period = request.query_params.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    chart = failed_signins(audit_database(provider_of(request)), period, datetime.now(UTC))
    _record_view(request, auditor, "failed_signins", {"period": period})
    first = chart.bars[0].start.strftime("%Y-%m-%dT%H:%M")
    events_url = "/console?" + urlencode({"type": FAILED_SIGNIN_TYPES[0] + ".*", "outcome": "failure", "since": first})
    return render_page(request, "console/chart.html", {
        "auditor_name": auditor.username, "section": "chart", "chart": chart, "periods": list(PERIODS),
        "events_url": events_url})


@router.get("/console/report")
def console_report(request: Request) -> Response:
    auditor = _gate(request)
    if not isinstance(auditor, Auditor):
        return auditor
    provider = provider_of(request)
    error_id = None
    month = request.query_params.get("month", "")[:16] or current_month()
    try:
        month_bounds(month)
    except ValueError:
        month, error_id = current_month(), "console.report.bad_month"
    units = Units.none()
    if provider.settings.report_units_file is not None:
        try:
            units = Units.read(provider.settings.report_units_file)
        except UnitsFileError:
            error_id = "console.report.bad_units"
    vneid = {entry.id for entry in provider.adapters.entries if entry.type == "vneid"}
    report = build_report(month, signin_events(audit_database(provider), month), units, vneid)
    _record_view(request, auditor, "report", {"month": month})
    return render_page(request, "console/report.html", {
        "auditor_name": auditor.username, "section": "report", "error_id": error_id, **report_context(report)})
