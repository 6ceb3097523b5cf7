"""Configuration of the ``certificate`` adapter (version 1)::

    - id: chukyso
      type: certificate
      display_name: {vi: Chữ ký số (USB token), en: Digital signature (USB token)}
      levels: [pki-hw]                       # what sign-ins may reach; each needs a policy in the trust file
      signing_tool_url: http://127.0.0.1:41250   # the person's local signing tool
      challenge_ttl_seconds: 300
      mtls_header: X-SSL-Client-Cert         # optional: the TLS terminator's client certificate
      remote_signing_url: https://smartca.example.vn   # optional: a remote-signing service
      remote_signing_api_key: ...

The certificates are those trusted for ``sign_in`` in ``IDP_TRUST_FILE`` (idp/pki/trust.py), whose
certificate-policy OIDs map to ``pki-hw`` or ``pki-remote``; opening the adapter without that
purpose, or with a declared level no policy maps to, stops start-up.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from adapters.base import Adapter
from adapters.config import CERTIFICATE, AdapterConfig, AdapterContext, Produces
from idp.settings import is_loopback_host

ADAPTER_TYPE = "certificate"
#: What a certificate sign-in yields (adapters/certificate/adapter.py ``identity``), and what a
#: person acting for the organisation their certificate names yields (idp.oidc.acting).
CERTIFICATE_CLAIMS = frozenset({"vn_personal_id", "name", "vn_org_tax_code", "vn_cert_issuer", "vn_cert_serial",
                                "vn_cert_uid", "vn_acting_for", "vn_org_name"})


class CertificateConfig(AdapterConfig):
    capabilities: ClassVar[frozenset[str]] = frozenset({CERTIFICATE})
    config_version: ClassVar[int] = 1

    type: Literal["certificate"]
    levels: tuple[Literal["pki-hw", "pki-remote"], ...] = Field(
        default=("pki-hw",), min_length=1,
        description="Levels sign-ins through this adapter may reach (a certificate mapped to another is refused).")
    signing_tool_url: str = Field(default="http://127.0.0.1:41250",
                                  description="The person's local signing tool (loopback http).")
    challenge_ttl_seconds: int = Field(default=300, ge=30, le=1800, description="How long a challenge lives.")
    remote_signing_url: str | None = Field(
        default=None, description="A remote-signing service (VNPT SmartCA-, Viettel MySign-shaped API, "
        "idp/sandbox/remote_signing.py): the person confirms the signature in a phone app. Unset: none.")
    remote_signing_api_key: SecretStr | None = Field(default=None, description="This service's API key there.")
    mtls_header: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="Header in which the TLS terminator passes the client certificate (PEM, URL-encoded as "
        "nginx's $ssl_client_escaped_cert, or base64 DER); believed only from IDP_TRUSTED_PROXIES. Unset: no mTLS.")

    @field_validator("signing_tool_url")
    @classmethod
    def _loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "http" or not is_loopback_host(parts.hostname or "") or parts.path not in ("", "/"):
            raise ValueError("the signing tool runs on the person's computer: http://127.0.0.1:<port>")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _remote_needs_a_key(self) -> CertificateConfig:
        if (self.remote_signing_url is None) != (self.remote_signing_api_key is None):
            raise ValueError("remote_signing_url and remote_signing_api_key go together")
        if self.remote_signing_url is not None and not self.remote_signing_url.startswith(("https://", "http://")):
            raise ValueError("remote_signing_url must be an http(s) URL")
        return self

    def produces(self) -> Produces:
        return Produces(tuple(self.levels), CERTIFICATE_CLAIMS)

    def open(self, context: AdapterContext) -> Adapter:
        from adapters.certificate.adapter import CertificateAdapter
        from idp.net.outbound import OutboundPolicy
        from idp.pki.trust import TrustConfigError, load_trust
        from idp.pki.validation import PathValidator

        try:
            trust = load_trust(context.settings.trust_file).get("sign_in")
        except TrustConfigError as exc:
            raise ValueError(str(exc)) from None
        if trust is None:
            raise ValueError("the certificate adapter needs a sign_in purpose in IDP_TRUST_FILE")
        missing = [level for level in self.levels if level not in trust.policies.values()]
        if missing:
            raise ValueError(f"levels: no sign_in certificate policy in the trust file maps to {missing[0]!r}")
        outbound = OutboundPolicy.from_settings(context.settings)
        return CertificateAdapter(self, trust, PathValidator(outbound), outbound)
