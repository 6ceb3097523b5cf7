"""The audit hook: what a log line and a metric label may carry (bounded values, no person)."""

from __future__ import annotations

import json
import logging

import pytest

from idp.audit.events import AuditContext, AuditEvent
from idp.observability import metrics
from idp.observability.events import EventObserver, acr_token, method
from idp.observability.logs import JsonFormatter


def signin(**fields: object) -> AuditEvent:
    base: dict = dict(type="signin", subject="sub-123", username="canbo01", client_id="portal", adapter="local",
                      acr="http://127.0.0.1:8000/acr/local-mfa", amr=("pwd", "otp"),
                      context=AuditContext(ip="10.1.2.3", user_agent="Firefox", request_id="abc-1"))
    return AuditEvent(**(base | fields))  # type: ignore[arg-type]


def test_labels_are_bounded() -> None:
    observer = EventObserver(metrics=None, known_adapters={"local", "vneid"})
    assert observer.adapter("vneid") == "vneid"
    assert observer.adapter("made-up-by-a-callback-url") == "other"
    assert acr_token("https://idp.example.vn/acr/vneid-l2") == "vneid-l2"
    assert method(("pwd", "otp", "pwd")) == "otp+pwd"
    assert method(("<script>",)) == "none"


def test_a_sign_in_line_is_json_without_the_person(caplog: pytest.LogCaptureFixture) -> None:
    observer = EventObserver(metrics=None, known_adapters={"local"})
    with caplog.at_level(logging.INFO, logger="idp.events"):
        observer([signin()])
    line = json.loads(JsonFormatter().format(caplog.records[-1]))
    assert line["event"] == "signin" and line["logger"] == "idp.events" and line["request_id"] == "abc-1"
    assert line["acr"] == "local-mfa" and line["amr"] == "otp+pwd" and line["client_id"] == "portal"
    text = json.dumps(line)
    assert "canbo01" not in text and "sub-123" not in text and "10.1.2.3" not in text and "Firefox" not in text


def test_counts_sign_ins_tokens_and_locks() -> None:
    watched = metrics.enable()
    observer = EventObserver(metrics=watched, known_adapters={"local"})
    signins = watched.signins.labels("success", "otp+pwd", "local", "local-mfa")
    tokens = watched.tokens.labels("refresh_token")
    locks = watched.throttle_locks.labels("account")
    links = watched.identity_links.labels("linked", "local")
    before = (signins._value.get(), tokens._value.get(), locks._value.get(), links._value.get())
    observer([signin(), AuditEvent(type="token.refreshed", details={"grant_type": "refresh_token"}),
              AuditEvent(type="token.refreshed", outcome="failure", details={"grant_type": "refresh_token"}),
              AuditEvent(type="account.locked", outcome="denied"), AuditEvent(type="identity.linked", adapter="local")])
    after = (signins._value.get(), tokens._value.get(), locks._value.get(), links._value.get())
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1]
