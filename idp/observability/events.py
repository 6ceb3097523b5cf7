"""The one hook on the audit trail: every event written is counted, and logged as a JSON line when
``IDP_LOG_EVENTS`` is on.

:class:`EventObserver` is given to the SQL audit log (:func:`idp.audit.setup.open_audit_log`), which
calls it with each batch of events once they are written. It reads only what may leave the audit
trail: type, outcome, client, adapter, level of assurance, amr, reason code and request id, never
the person (subject, username, address, user agent) nor the event's details.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence

from idp.audit import types
from idp.audit.events import AuditEvent
from idp.observability.metrics import Metrics

log = logging.getLogger("idp.events")
_TOKEN = re.compile(r"[a-z0-9_.:-]{1,64}")


class EventObserver:
    """Logs (``log_events``) and counts (when ``metrics`` is given) audit events. ``known_adapters``:
    the configured adapter ids; any other value (a callback URL names one) is labelled ``other``."""

    def __init__(self, *, metrics: Metrics | None, known_adapters: Collection[str], log_events: bool = True) -> None:
        self.metrics = metrics
        self.known_adapters = frozenset(known_adapters)
        self.log_events = log_events

    def __call__(self, events: Sequence[AuditEvent]) -> None:
        logging_on = self.log_events and log.isEnabledFor(logging.INFO)
        for event in events:
            if logging_on:
                log.info(event.type, extra={"request_id": event.context.request_id, "fields": self.fields(event)})
            if self.metrics is not None:
                self.count(event, self.metrics)

    def fields(self, event: AuditEvent) -> dict[str, object]:
        """The event's fields that a log line may carry."""
        fields: dict[str, object] = {"outcome": event.outcome}
        if event.client_id:
            fields["client_id"] = event.client_id[:255]
        if event.adapter:
            fields["adapter"] = self.adapter(event.adapter)
        if event.acr:
            fields["acr"] = acr_token(event.acr)
        if event.amr:
            fields["amr"] = method(event.amr)
        if event.reason:
            fields["reason"] = _bounded(event.reason)
        return fields

    def count(self, event: AuditEvent, metrics: Metrics) -> None:
        kind = event.type
        if kind == types.SIGNIN:
            metrics.signins.labels(event.outcome, method(event.amr), self.adapter(event.adapter),
                                   acr_token(event.acr)).inc()
        elif kind == types.SIGNIN_MFA:
            metrics.second_factor.labels(event.outcome).inc()
        elif kind in (types.TOKEN_ISSUED, types.TOKEN_REFRESHED) and event.outcome == types.SUCCESS:
            metrics.tokens.labels(_bounded(str(event.details.get("grant_type") or "unknown"))).inc()
        elif kind == types.ACCOUNT_LOCKED:
            metrics.throttle_locks.labels("account").inc()
        elif kind == types.ADDRESS_THROTTLED:
            metrics.throttle_locks.labels("address").inc()
        elif kind == types.ADAPTER_ERROR:
            metrics.adapter_errors.labels(self.adapter(event.adapter), _bounded(event.reason)).inc()
        elif kind in (types.IDENTITY_LINKED, types.IDENTITY_CONFLICT):
            metrics.identity_links.labels(kind.removeprefix("identity."), self.adapter(event.adapter)).inc()

    def adapter(self, adapter_id: str | None) -> str:
        if not adapter_id:
            return "none"
        return adapter_id if adapter_id in self.known_adapters else "other"


def acr_token(acr: str | None) -> str:
    """The short token of an acr URI (``{issuer}/acr/local-mfa`` -> ``local-mfa``)."""
    if not acr:
        return "none"
    return _bounded(acr.rsplit("/acr/", 1)[-1])


def method(amr: Sequence[str] | None) -> str:
    """The amr values joined in order of appearance (``pwd``, ``pwd+otp``, ...); ``none`` without."""
    values = [value for value in dict.fromkeys(amr or ()) if _TOKEN.fullmatch(value)][:4]
    return "+".join(sorted(values)) or "none"


def _bounded(value: str | None) -> str:
    """A code such as a reason or grant type, as a label: ``other`` unless it looks like one."""
    if not value:
        return "none"
    return value if _TOKEN.fullmatch(value) else "other"
