"""BackchannelLogout: logout tokens built per client, delivered in the background with bounded
retries, every attempt audited; no token in the audit record."""

from __future__ import annotations

import socket
import time
from types import SimpleNamespace
from typing import Any

from idp.oidc.backchannel import BackchannelLogout
from idp.settings import Settings
from idp.specs.oidc_backchannel import LOGOUT_EVENT, logout_token_claims
from idp.storage.models import Client


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event_type: str, request: Any = None, **fields: Any) -> None:
        self.events.append({"type": event_type, **fields})


def backchannel(provider: Any) -> BackchannelLogout:
    """The delivery over the parts a provider gives it (``provider`` is a namespace of them)."""
    return BackchannelLogout(settings=provider.settings, issuer=provider.issuer, clients=provider,
                             subject_ids=provider.subject_ids, ring=provider.ring, recorder=provider)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_client_gets_bounded_attempts_all_audited() -> None:
    uri = f"http://127.0.0.1:{closed_port()}/bc"
    rp = Client(client_id="rp", name="rp", auth_method="none", redirect_uris=(),
                extra={"backchannel_logout_uri": uri})
    other = Client(client_id="quiet", name="quiet", auth_method="none", redirect_uris=())
    record = Recorder()
    signer = SimpleNamespace(alg="ES256", kid="k", sign=lambda data: b"s" * 64)
    provider = SimpleNamespace(
        settings=Settings(backchannel_logout_attempts=3, backchannel_logout_backoff_seconds=0.05,
                          backchannel_logout_timeout_seconds=0.5, allow_loopback_client_urls=True),
        issuer="https://idp.example.vn", find_client={"rp": rp, "quiet": other}.get,
        subject_ids=SimpleNamespace(for_client=lambda subject, client: "pairwise-" + subject),
        ring=SimpleNamespace(signer=lambda alg=None: signer), record=record,
    )
    delivery = backchannel(provider)
    session = SimpleNamespace(subject_id="s1", sid="sid-1")
    try:
        assert delivery.notify(session, ["quiet", "rp"]) == 1  # type: ignore[arg-type]
        deadline = time.monotonic() + 10
        while len(record.events) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        delivery.close()
    assert [(e["outcome"], e["details"]["attempt"], e["details"]["final"]) for e in record.events] == [
        ("failure", 1, False), ("failure", 2, False), ("failure", 3, True)]
    assert all(e["type"] == "logout.backchannel" and e["client_id"] == "rp" for e in record.events)
    assert "eyJ" not in repr(record.events)  # never the signed logout token


def test_logout_token_claims() -> None:
    rp = Client(client_id="rp", name="rp", auth_method="none", redirect_uris=())
    claims = logout_token_claims("https://idp.example.vn", rp, sub="abc", sid="sid-1")
    assert claims["aud"] == "rp" and claims["events"] == {LOGOUT_EVENT: {}}
    assert claims["sub"] == "abc" and claims["sid"] == "sid-1" and "nonce" not in claims
    assert claims["exp"] - claims["iat"] <= 120 and claims["jti"]


def test_internal_backchannel_uris_are_refused_once_without_a_connection() -> None:
    from tests.unit.net.support import Listener

    listener = Listener()
    uris = {"local": f"http://localhost:{listener.port}/bc", "metadata": "http://169.254.169.254/bc",
            "intranet": "https://10.1.2.3/bc"}
    clients = {name: Client(client_id=name, name=name, auth_method="none", redirect_uris=(),
                            extra={"backchannel_logout_uri": uri}) for name, uri in uris.items()}
    record = Recorder()
    signer = SimpleNamespace(alg="ES256", kid="k", sign=lambda data: b"s" * 64)
    provider = SimpleNamespace(
        settings=Settings(backchannel_logout_attempts=3, backchannel_logout_backoff_seconds=0.05),
        issuer="https://idp.example.vn", find_client=clients.get,
        subject_ids=SimpleNamespace(for_client=lambda subject, client: "pairwise-" + subject),
        ring=SimpleNamespace(signer=lambda alg=None: signer), record=record,
    )
    delivery = backchannel(provider)
    try:
        assert delivery.notify(SimpleNamespace(subject_id="s1", sid="sid-1"), list(clients)) == 3  # type: ignore[arg-type]
        deadline = time.monotonic() + 10
        while len(record.events) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # no retry may follow
    finally:
        delivery.close()
        connected = listener.connected()
        listener.close()
    assert sorted((e["client_id"], e["outcome"], e["reason"], e["details"]["attempt"], e["details"]["final"])
                  for e in record.events) == [(name, "failure", "OutboundRefused", 1, True) for name in sorted(uris)]
    assert not connected
