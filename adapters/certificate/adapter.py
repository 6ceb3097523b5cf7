"""The ``certificate`` adapter: a person signs a single-use challenge with the key of their
certificate (a USB token, through the local signing tool) and posts back a CMS detached signature
with the certificate chain.

The signature is checked by :func:`idp.pki.cms.verify_cms` (integrity, signing certificate) and
the signer's certificate by path validation for the ``sign_in`` purpose (trusted roots, validity
with the purpose's clock skew, key usage, certificate policy mapped to ``pki-hw`` or
``pki-remote``, OCSP/CRL revocation under the purpose's hard- or soft-fail rule). A refusal is a
:class:`CertificateRefused` whose ``reason`` the login page explains (``cert_expired``,
``cert_revoked``, ``cert_untrusted``, ``cert_wrong_key_usage``, ``cert_revocation_unknown`` ...).
With ``mtls_header`` configured, the client certificate a TLS terminator passes is a second way in
(:meth:`CertificateAdapter.client_certificate`; the endpoint believes the header only from
``IDP_TRUSTED_PROXIES``).

Subject mapping (idp/pki/subjects.py): a personal number (``CCCD:``, a 12-digit ``CMND:``) is the
person's personal ID number, so the sign-in links to the one person who has it; a tax code
(``MST:``) is released as ``vn_org_tax_code``. A business certificate that names both the person
and the organisation's tax code (a certificate of a person in an organisation) entitles the person
to act for that organisation (:meth:`CertificateAdapter.entitlements`, source ``certificate``:
idp.oidc.flow.organisations), by its subject's ``O`` name. The certificate's issuer, serial and UID are the
``vn_cert`` claims (released only under the claim rules of policies/claims.py).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

import httpx
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from adapters.base import (
    CERTIFICATE,
    ENTITLEMENTS_EVIDENCE,
    Identity,
    OrganisationEntitlement,
    RequestData,
    SourceUnavailable,
    UpstreamRejected,
    recorded_entitlements,
)
from adapters.certificate.config import CertificateConfig
from adapters.config import display_name_for
from idp.net.outbound import OutboundPolicy, outbound_client
from idp.pki.cms import verify_cms
from idp.pki.report import DocumentRejected, SignerReport
from idp.pki.trust import PurposeTrust
from idp.pki.validation import PathValidator

ISSUER = "urn:vn-idp:certificate"
MAX_SIGNATURE_BYTES = 64 * 1024
AMR = {"pki-hw": ("hwk", "pin"), "pki-remote": ("swk",)}
REMOTE_TIMEOUT_SECONDS = 10.0


class CertificateRefused(UpstreamRejected):
    """The signed challenge or its certificate was refused; ``reason`` says why (a stable code)."""


class CertificateAdapter:
    """Certificate sign-in for one adapter configuration, over the ``sign_in`` trust."""

    def __init__(self, config: CertificateConfig, trust: PurposeTrust, validator: PathValidator,
                 outbound: OutboundPolicy | None = None) -> None:
        self.config = config
        self.id = config.id
        self.trust = trust
        self.validator = validator
        self.signing_tool_url = config.signing_tool_url
        self.challenge_ttl = config.challenge_ttl_seconds
        self.mtls_header = config.mtls_header
        self.remote = config.remote_signing_url is not None
        self._outbound = outbound or OutboundPolicy()

    def display_name(self, locale: str) -> str:
        return display_name_for(self.config.display_name, locale, "Chữ ký số")

    def challenge(self) -> dict[str, Any]:
        """A fresh challenge: random, with the adapter and the time, as the text to be signed."""
        text = f"vn-idp sign-in {self.id} {int(time.time())} {secrets.token_urlsafe(32)}"
        return {"challenge": text}

    def authenticate(self, request: RequestData, pending: Mapping[str, Any]) -> Identity:
        """The person of a signature over ``pending["challenge"]`` (form field ``signature``:
        base64 DER CMS, detached); CertificateRefused otherwise."""
        encoded = request.form.get("signature") or ""
        if not encoded or len(encoded) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
            raise CertificateRefused(reason="signature_missing")
        try:
            signature = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise CertificateRefused(reason="signature_invalid") from None
        challenge = str(pending["challenge"]).encode("utf-8")
        try:
            reports = asyncio.run(verify_cms(signature, challenge, self.trust, self.validator))
        except DocumentRejected:
            raise CertificateRefused(reason="signature_invalid") from None
        if len(reports) != 1 or not reports[0].intact or reports[0].signer is None:
            raise CertificateRefused(reason="signature_invalid")
        return self._identity(reports[0].signer)

    def request_remote(self, user_id: str, challenge: str) -> str:
        """Ask the remote-signing service to have ``user_id`` sign ``challenge`` (confirmed in their
        phone app): the request's id; CertificateRefused for an unknown user, SourceUnavailable."""
        answer = self._remote("POST", "/v1/sign-requests", {
            "user_id": user_id, "data": base64.b64encode(challenge.encode("utf-8")).decode("ascii"),
            "description": "Đăng nhập cổng xác thực / Sign in"})
        if answer.status_code == 404:
            raise CertificateRefused(reason="remote_unknown_user")
        request_id = _json_field(answer, "request_id") if answer.status_code == 201 else None
        if request_id is None:
            raise SourceUnavailable(reason="remote_unavailable")
        return request_id

    def remote_signature(self, request_id: str) -> bytes | None:
        """The signature once the person confirmed it, None while pending; CertificateRefused when
        they refused or it expired."""
        answer = self._remote("GET", f"/v1/sign-requests/{quote(request_id, safe='')}", None)
        status = _json_field(answer, "status") if answer.status_code == 200 else None
        if status == "pending":
            return None
        if status in ("refused", "expired"):
            raise CertificateRefused(reason=f"remote_{status}")
        signature = _json_field(answer, "signature") if status == "confirmed" else None
        if signature is None:
            raise SourceUnavailable(reason="remote_unavailable")
        try:
            return base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise CertificateRefused(reason="signature_invalid") from None

    def _remote(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        url, key = self.config.remote_signing_url, self.config.remote_signing_api_key
        if url is None or key is None:
            raise CertificateRefused(reason="remote_not_configured")
        try:
            with outbound_client(self._outbound, timeout=REMOTE_TIMEOUT_SECONDS) as http:
                return http.request(method, url.rstrip("/") + path, json=body,
                                    headers={"Authorization": f"Bearer {key.get_secret_value()}"})
        except httpx.HTTPError:
            raise SourceUnavailable(reason="remote_unavailable") from None

    def client_certificate(self, value: str) -> Identity:
        """The person of the client certificate a TLS terminator passed (PEM, URL-encoded PEM or
        base64 DER): the TLS handshake proved the key; the certificate is checked like a signer's."""
        der = _certificate_der(value)
        try:
            cert = asn1_x509.Certificate.load(der)
            cert.native  # noqa: B018 - parse it all now
        except (ValueError, TypeError):
            raise CertificateRefused(reason="cert_malformed") from None
        verdict = asyncio.run(self.validator.validate(self.trust, cert))
        return self._identity(SignerReport.from_verdict(verdict, cert.subject.human_friendly))

    def _identity(self, signer: SignerReport) -> Identity:
        if not signer.trusted:
            raise CertificateRefused(reason=f"cert_{signer.status}")
        if signer.acr not in self.config.levels:
            raise CertificateRefused(reason="cert_policy_not_allowed")
        if not signer.personal_id and not signer.tax_code:
            raise CertificateRefused(reason="cert_no_identifier")
        claims: dict[str, Any] = {"name": signer.common_name, "vn_cert_issuer": signer.issuer,
                                  "vn_cert_serial": signer.serial, "vn_cert_uid": signer.uid}
        if signer.personal_id:
            claims["vn_personal_id"] = signer.personal_id
        if signer.tax_code:
            claims["vn_org_tax_code"] = signer.tax_code
        subject = f"CCCD:{signer.personal_id}" if signer.personal_id else f"MST:{signer.tax_code}"
        evidence: dict[str, Any] = {"certificate": {"sha256": signer.fingerprint, "issuer": signer.issuer,
                                                    "serial": signer.serial, "revocation": signer.revocation_source}}
        if signer.personal_id and signer.tax_code:  # a person in an organisation: they may act for it
            evidence[ENTITLEMENTS_EVIDENCE] = [{"tax_code": signer.tax_code, "source": CERTIFICATE,
                                                "name": signer.organization.strip()[:255] or signer.tax_code}]
        return Identity(subject=subject, adapter_id=self.id, issuer=ISSUER, auth_time=int(time.time()),
                        acr=signer.acr, amr=AMR[signer.acr or "pki-hw"], claims=claims, evidence=evidence)

    def entitlements(self, identity: Identity) -> tuple[OrganisationEntitlement, ...]:
        """The organisation whose tax code the certificate of ``identity``'s sign-in here names
        besides the person (as an employee: a certificate does not say who represents it)."""
        return recorded_entitlements(self.id, identity)

    def close(self) -> None:
        return None


def _certificate_der(value: str) -> bytes:
    """The DER certificate of a header value: PEM (URL-encoded or not) or base64 DER."""
    if len(value) > MAX_SIGNATURE_BYTES:
        raise CertificateRefused(reason="cert_malformed")
    text = unquote(value) if value.startswith("%2D") or "%0A" in value else value
    try:
        if "-----BEGIN" in text:
            _, _, der = pem.unarmor(text.encode("ascii"))
            return bytes(der)
        return base64.b64decode("".join(text.split()), validate=True)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise CertificateRefused(reason="cert_malformed") from None


def _json_field(answer: httpx.Response, name: str) -> str | None:
    try:
        value = answer.json().get(name)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
