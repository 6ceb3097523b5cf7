"""The certificate step of the sign-in flow: a person signs in (or steps up) with a certificate.

- :meth:`CertificateStep.show`: the certificate page of the interaction with a fresh single-use
  challenge, kept under the interaction and this browser for the adapter's challenge lifetime;
  the page asks the person's local signing tool to sign it (CMS detached, with the chain).
- :meth:`CertificateStep.finish`: the signature comes back; the challenge is consumed (once, by
  this browser); the ``certificate`` adapter verifies the signature and the certificate for the
  ``sign_in`` purpose. A refusal shows the page again with its reason in plain words (expired,
  revoked, untrusted issuer, wrong key usage, revocation unknown) and is audited (``signin``,
  failure, ``cert_...``); an acceptance signs the person in like any adapter (idp.oidc.flow.core
  ``_signed_in``): linked by personal ID number, at ``pki-hw`` or ``pki-remote``. A person already
  signed in lower (a password) reaches the certificate's level this way: a step-up.
- :meth:`CertificateStep.finish_mtls`: the same with the client certificate of a TLS terminator
  (the adapter's ``mtls_header``; the endpoint reads it only from ``IDP_TRUSTED_PROXIES``).
- :meth:`CertificateStep.start_remote` / :meth:`finish_remote`: remote signing: the person gives
  their personal ID number, confirms the signature of a fresh challenge in the remote-signing
  service's phone app, then continues; the signature is checked like the signing tool's.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from adapters.adapter_set import AdapterSet
from adapters.base import AdapterError, Identity, RequestData, SourceUnavailable
from adapters.certificate.adapter import CertificateAdapter
from adapters.certificate.config import ADAPTER_TYPE
from idp.errors import PageError
from idp.oidc.flow.core import AuthorizationFlow
from idp.oidc.flow.outcomes import Browser, Outcome, ShowPage
from idp.oidc.interaction import Interaction
from idp.storage.ephemeral import EphemeralStore

PAGE = "certificate"
CHALLENGE_KIND = "cert_challenge"
REMOTE_KIND = "cert_remote"
PERSONAL_NUMBER = re.compile(r"[0-9]{12}")
#: Refusal reasons the page explains; anything else is shown as an unusable signature.
EXPLAINED = frozenset({"cert_expired", "cert_revoked", "cert_untrusted", "cert_wrong_key_usage",
                       "cert_revocation_unknown", "cert_not_yet_valid", "cert_policy_not_allowed",
                       "cert_no_identifier", "cert_malformed", "signature_invalid", "signature_missing",
                       "challenge_expired", "no_client_certificate", "remote_unknown_user", "remote_refused",
                       "remote_expired"})


class CertificateStep:
    """Built once by the compose step over the flow and the ephemeral store."""

    def __init__(self, *, flow: AuthorizationFlow, ephemeral: EphemeralStore) -> None:
        self.flow = flow
        self.ephemeral = ephemeral

    def _adapter(self, interaction: Interaction, adapter_id: str) -> CertificateAdapter:
        entry = next((e for e in self.flow.offered(interaction) if e.id == adapter_id), None)
        if entry is None or entry.type != ADAPTER_TYPE or not isinstance(entry.adapter, CertificateAdapter):
            raise PageError("invalid_request")
        return entry.adapter

    def _page(self, interaction: Interaction, browser: Browser, adapter: CertificateAdapter,
              error_id: str | None = None, status: int = 200, *, remote_pending: bool = False) -> ShowPage:
        challenge = adapter.challenge()
        self.ephemeral.upsert(CHALLENGE_KIND, f"{interaction.id}:{adapter.id}",
                              {"challenge": challenge["challenge"], "browser": browser.key()}, adapter.challenge_ttl)
        facts: dict[str, Any] = {
            "adapter_id": adapter.id,
            "adapter_name": {"vi": adapter.display_name("vi"), "en": adapter.display_name("en")},
            "challenge": challenge["challenge"], "signing_tool_url": adapter.signing_tool_url,
            "mtls": adapter.mtls_header is not None, "remote": adapter.remote, "remote_pending": remote_pending}
        return ShowPage(PAGE, interaction, error_id, status, facts=facts)

    def mtls_header(self, interaction_id: str, browser: Browser, adapter_id: str) -> str | None:
        """The header in which the adapter takes a client certificate, if it does."""
        return self._adapter(self.flow.pending(interaction_id, browser), adapter_id).mtls_header

    def show(self, interaction_id: str, browser: Browser, adapter_id: str) -> Outcome:
        interaction = self.flow.pending(interaction_id, browser)
        return self._page(interaction, browser, self._adapter(interaction, adapter_id))

    def finish(self, interaction_id: str, browser: Browser, adapter_id: str, signature: str) -> Outcome:
        interaction = self.flow.pending(interaction_id, browser)
        adapter = self._adapter(interaction, adapter_id)
        kept = self.ephemeral.consume(CHALLENGE_KIND, f"{interaction.id}:{adapter.id}")
        context = browser.context()
        client_id = interaction.request.client_id
        if kept is None or not browser.owns(kept.get("browser")):
            self.flow.audit.record("signin", context=context, outcome="failure", client_id=client_id,
                                   adapter=adapter.id, reason="challenge_expired")
            return self._page(interaction, browser, adapter, "cert.error.challenge_expired", 400)
        return self._complete(interaction, browser, adapter,
                              lambda: adapter.authenticate(RequestData(form={"signature": signature}), kept))

    def finish_mtls(self, interaction_id: str, browser: Browser, adapter_id: str, certificate: str | None) -> Outcome:
        """The client certificate the TLS terminator passed (None: none, or not from a trusted
        proxy): the handshake proved the key, so no challenge is needed."""
        interaction = self.flow.pending(interaction_id, browser)
        adapter = self._adapter(interaction, adapter_id)
        if adapter.mtls_header is None:
            raise PageError("invalid_request")
        if not certificate:
            self.flow.audit.record("signin", context=browser.context(), outcome="failure",
                                   client_id=interaction.request.client_id, adapter=adapter.id,
                                   reason="no_client_certificate")
            return self._page(interaction, browser, adapter, "cert.error.no_client_certificate", 400)
        return self._complete(interaction, browser, adapter, lambda: adapter.client_certificate(certificate))

    def start_remote(self, interaction_id: str, browser: Browser, adapter_id: str, user_id: str) -> Outcome:
        """Ask the remote-signing service to have the person (their personal ID number) sign a fresh
        challenge; the page then waits for the confirmation in their phone app."""
        interaction = self.flow.pending(interaction_id, browser)
        adapter = self._adapter(interaction, adapter_id)
        if not adapter.remote:
            raise PageError("invalid_request")
        number = "".join(user_id.split())
        if not PERSONAL_NUMBER.fullmatch(number):
            return self._page(interaction, browser, adapter, "cert.error.remote_bad_number", 400)
        challenge = adapter.challenge()["challenge"]
        try:
            request_id = adapter.request_remote(f"CCCD:{number}", challenge)
        except AdapterError as exc:
            return self._refused(interaction, browser, adapter, exc)
        self.ephemeral.upsert(REMOTE_KIND, f"{interaction.id}:{adapter.id}",
                              {"challenge": challenge, "request": request_id, "browser": browser.key()},
                              adapter.challenge_ttl)
        return self._page(interaction, browser, adapter, remote_pending=True)

    def remote_answered(self, interaction_id: str, browser: Browser, adapter_id: str) -> bool:
        """Whether the remote-signing service has answered this browser's request (confirmed,
        refused, expired, or no longer known): the waiting page asks this until it is, then
        continues by itself (:meth:`finish_remote` reads the answer)."""
        interaction = self.flow.pending(interaction_id, browser)
        adapter = self._adapter(interaction, adapter_id)
        kept = self.ephemeral.find(REMOTE_KIND, f"{interaction.id}:{adapter.id}")
        if kept is None or not browser.owns(kept.get("browser")):
            return True
        try:
            return adapter.remote_signature(str(kept["request"])) is not None
        except AdapterError:
            return True

    def finish_remote(self, interaction_id: str, browser: Browser, adapter_id: str) -> Outcome:
        """The person says they confirmed: the signature, checked like the signing tool's; the
        waiting page again while the service has no answer yet."""
        interaction = self.flow.pending(interaction_id, browser)
        adapter = self._adapter(interaction, adapter_id)
        key = f"{interaction.id}:{adapter.id}"
        kept = self.ephemeral.find(REMOTE_KIND, key)
        if kept is None or not browser.owns(kept.get("browser")):
            return self._page(interaction, browser, adapter, "cert.error.challenge_expired", 400)
        try:
            signature = adapter.remote_signature(str(kept["request"]))
        except AdapterError as exc:
            self.ephemeral.consume(REMOTE_KIND, key)
            return self._refused(interaction, browser, adapter, exc)
        if signature is None:
            return self._page(interaction, browser, adapter, "cert.error.remote_pending", 409, remote_pending=True)
        if self.ephemeral.consume(REMOTE_KIND, key) is None:  # another tab finished it
            return self._page(interaction, browser, adapter, "cert.error.challenge_expired", 400)
        encoded = base64.b64encode(signature).decode("ascii")
        return self._complete(interaction, browser, adapter,
                              lambda: adapter.authenticate(RequestData(form={"signature": encoded}), kept))

    def _complete(self, interaction: Interaction, browser: Browser, adapter: CertificateAdapter,
                  check: Callable[[], Identity]) -> Outcome:
        """Sign the person in with what ``check`` verified, or show the page again with why not."""
        try:
            identity = check()
        except AdapterError as exc:
            return self._refused(interaction, browser, adapter, exc)
        return self.flow._signed_in(interaction, browser, identity, ADAPTER_TYPE)

    def _refused(self, interaction: Interaction, browser: Browser, adapter: CertificateAdapter,
                 exc: AdapterError) -> Outcome:
        """The page again with why (audited as a failed sign-in with the reason code)."""
        self.flow.audit.record("signin", context=browser.context(), outcome="failure",
                               client_id=interaction.request.client_id, adapter=adapter.id, reason=exc.reason)
        if exc.reason == "remote_unavailable":
            return self._page(interaction, browser, adapter, "cert.error.remote_unavailable", 503)
        if isinstance(exc, SourceUnavailable):
            return self._page(interaction, browser, adapter, "cert.error.cert_revocation_unknown", 503)
        reason = exc.reason if exc.reason in EXPLAINED else "signature_invalid"
        return self._page(interaction, browser, adapter, f"cert.error.{reason}", 401)


def open_certificate_step(*, flow: AuthorizationFlow, adapters: AdapterSet,
                          ephemeral: EphemeralStore) -> CertificateStep | None:
    """The certificate step when a ``certificate`` adapter is configured, else None (its pages
    then answer 404)."""
    if not any(entry.type == ADAPTER_TYPE for entry in adapters.entries):
        return None
    return CertificateStep(flow=flow, ephemeral=ephemeral)
