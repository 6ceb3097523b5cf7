"""Certificate path validation against one purpose's trust, with pyhanko-certvalidator.

The library builds the path from the purpose's roots and intermediates (plus what the signer sent),
checks validity periods with the purpose's clock skew, signatures, basic and name constraints,
and revocation by OCSP then CRL through :mod:`idp.pki.revocation`. On top of it this module
checks the end entity's key usage (one of the purpose's usages) and its certificate policies (one
that the trust file maps to an acr, when ``require_policy``), and reads who the certificate
names (:mod:`idp.pki.subjects`). The answer is a :class:`CertificateVerdict` whose ``status`` is a
stable code; :data:`STATUS_TEXT` says it in Vietnamese and English for people.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors
from pyhanko_certvalidator.fetchers.api import Fetchers
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy, RevocationCheckingRule

from idp.net.outbound import OutboundPolicy
from idp.pki.revocation import GuardedFetcherBackend, RevocationCache
from idp.pki.subjects import CertificateSubject, read_subject
from idp.pki.trust import PurposeTrust, fingerprint

TRUSTED = "trusted"
STATUSES = ("trusted", "untrusted", "expired", "not_yet_valid", "revoked", "wrong_key_usage", "policy_not_allowed",
            "revocation_unknown", "weak_algorithm", "malformed")

STATUS_TEXT: dict[str, tuple[str, str]] = {
    "trusted": ("Chứng thư số hợp lệ và được tin cậy.", "The certificate is valid and trusted."),
    "untrusted": ("Chứng thư số không do tổ chức cung cấp dịch vụ chứng thực được tin cậy cấp.",
                  "The certificate was not issued by a trusted certification authority."),
    "expired": ("Chứng thư số đã hết hạn.", "The certificate has expired."),
    "not_yet_valid": ("Chứng thư số chưa đến thời hạn có hiệu lực.", "The certificate is not valid yet."),
    "revoked": ("Chứng thư số đã bị thu hồi.", "The certificate has been revoked."),
    "wrong_key_usage": ("Chứng thư số không được phép dùng để ký.", "The certificate may not be used for signing."),
    "policy_not_allowed": ("Loại chứng thư số này không được chấp nhận ở đây.",
                           "This kind of certificate is not accepted here."),
    "revocation_unknown": ("Chưa kiểm tra được tình trạng thu hồi của chứng thư số; vui lòng thử lại sau.",
                           "The certificate's revocation status could not be checked; try again later."),
    "weak_algorithm": ("Chứng thư số dùng thuật toán không còn an toàn.", "The certificate uses a weak algorithm."),
    "malformed": ("Chứng thư số không đọc được.", "The certificate could not be read."),
}


@dataclass(frozen=True)
class RevocationReport:
    """Where the revocation status came from (``ocsp``, ``crl`` or ``none``) and its time."""

    source: str
    checked_at: str | None = None


@dataclass(frozen=True)
class CertificateVerdict:
    """What path validation found about one certificate."""

    status: str
    detail: str = ""
    chain: tuple[str, ...] = ()
    revocation: RevocationReport = RevocationReport("none")
    acr: str | None = None
    subject: CertificateSubject | None = None
    serial: str = ""
    issuer: str = ""
    fingerprint: str = ""
    policies: tuple[str, ...] = field(default_factory=tuple)

    @property
    def trusted(self) -> bool:
        return self.status == TRUSTED


def revocation_policy(trust: PurposeTrust, *, retroactive: bool = False) -> CertRevTrustPolicy:
    """The purpose's revocation rules in certvalidator's words (OCSP first, then the CRL);
    ``retroactive``: answers issued after the validation's moment count for it."""
    rev = trust.revocation
    if rev.mode == "soft-fail":
        rule = RevocationCheckingRule.CHECK_IF_DECLARED_SOFT
        ca_rule = RevocationCheckingRule.CHECK_IF_DECLARED_SOFT
    else:
        sources = set(rev.sources)
        rule = (RevocationCheckingRule.CRL_OR_OCSP_REQUIRED if sources == {"ocsp", "crl"}
                else RevocationCheckingRule.OCSP_REQUIRED if sources == {"ocsp"}
                else RevocationCheckingRule.CRL_REQUIRED)
        ca_rule = RevocationCheckingRule.CHECK_IF_DECLARED
    return CertRevTrustPolicy(RevocationCheckingPolicy(ee_certificate_rule=rule, intermediate_ca_cert_rule=ca_rule),
                              retroactive_revinfo=retroactive)


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@dataclass
class PathValidator:
    """Validates certificates for the purposes of one trust, sharing one revocation cache."""

    outbound: OutboundPolicy
    cache: RevocationCache = field(default_factory=RevocationCache)

    def context(self, trust: PurposeTrust, *, moment: datetime.datetime | None = None,
                extra_certs: Sequence[asn1_x509.Certificate] = ()) -> Checking:
        """A certvalidator context for ``trust``, fetching through the guard (pyhanko takes it too).

        With a past ``moment`` (a trusted timestamp's), today's revocation answers speak for it:
        "good" now was good then, and "revoked at T" was not revoked before T."""
        fetchers = GuardedFetcherBackend(self.outbound, trust.revocation.timeout_seconds, self.cache).get_fetchers()
        context = ValidationContext(
            trust_roots=[to_asn1(c) for c in trust.roots],
            other_certs=[*(to_asn1(c) for c in trust.intermediates), *extra_certs],
            moment=moment, allow_fetching=True, revinfo_policy=revocation_policy(trust, retroactive=moment is not None),
            time_tolerance=trust.clock_skew, fetchers=fetchers)
        return Checking(context, fetchers)

    @staticmethod
    def nothing_trusted() -> ValidationContext:
        """A context that trusts no root and fetches nothing (no trust configured for a purpose)."""
        return ValidationContext(trust_roots=[], allow_fetching=False)

    async def validate(self, trust: PurposeTrust, cert: asn1_x509.Certificate,
                       others: Sequence[asn1_x509.Certificate] = (), *,
                       moment: datetime.datetime | None = None) -> CertificateVerdict:
        """Validate ``cert`` (the signer's) with the certificates it came with."""
        checking = self.context(trust, moment=moment, extra_certs=others)
        return await verdict_for(trust, cert, checking)


@dataclass(frozen=True)
class Checking:
    """A validation context and the fetchers it uses (which tell where revocation came from)."""

    context: ValidationContext
    fetchers: Fetchers


async def verdict_for(trust: PurposeTrust, cert: asn1_x509.Certificate, checking: Checking,
                      checked: Any = None) -> CertificateVerdict:
    """Run (or, given ``checked``, interpret) certvalidator's validation of ``cert`` in ``context``.

    ``checked`` is an exception certvalidator already raised or a ValidationPath it returned
    (pyhanko validates the signer itself; this reads its result the same way)."""
    base = _describe(trust, cert)
    usage = _usage_problem(trust, cert)
    if checked is None:
        try:
            checked = await CertificateValidator(cert, validation_context=checking.context).async_validate_path()
        except (cv_errors.PathValidationError, cv_errors.PathBuildingError, cv_errors.InvalidCertificateError,
                cv_errors.ValidationError) as exc:
            checked = exc
        except ValueError as exc:
            checked = cv_errors.InvalidCertificateError(str(exc))
    if isinstance(checked, BaseException):
        return _refusal(base, checked)
    if isinstance(checked, Refusal):
        return CertificateVerdict(status=checked.status, detail=checked.detail,
                                  **{**base, "revocation": _revocation_source(checking.fetchers, cert)})
    chain = tuple(reversed([c.subject.human_friendly for c in checked.iter_certs(include_root=True)]))
    revocation = _revocation_source(checking.fetchers, cert)
    base = {**base, "chain": chain, "revocation": revocation}
    if usage:
        return CertificateVerdict(status="wrong_key_usage", detail=usage, **base)
    if trust.require_policy and base["acr"] is None:
        return CertificateVerdict(status="policy_not_allowed",
                                  detail="no certificate policy of the certificate is accepted for this purpose",
                                  **base)
    return CertificateVerdict(status=TRUSTED, **base)


@dataclass(frozen=True)
class Refusal:
    """A refusal someone else's validation reached (pyhanko's, as an AdES sub-indication)."""

    status: str
    detail: str = ""


# pyhanko's AdES sub-indications (ETSI EN 319 102-1) in this module's words.
ADES_STATUS = {
    "REVOKED": "revoked", "REVOKED_NO_POE": "revoked", "REVOKED_CA_NO_POE": "revoked",
    "EXPIRED": "expired", "OUT_OF_BOUNDS_NO_POE": "expired", "OUT_OF_BOUNDS_NOT_REVOKED": "expired",
    "NOT_YET_VALID": "not_yet_valid", "TRY_LATER": "revocation_unknown",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": "revocation_unknown",
    "CRYPTO_CONSTRAINTS_FAILURE": "weak_algorithm", "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "weak_algorithm",
}


# pyhanko's catch-alls (a missing revocation answer, a key usage, an expiry in some cases are all
# CERTIFICATE_CHAIN_GENERAL_FAILURE): the certificate is validated again here to say which.
VAGUE = frozenset({"CERTIFICATE_CHAIN_GENERAL_FAILURE", "CHAIN_CONSTRAINTS_FAILURE", "GENERIC"})


def refusal_for_ades(indication: Any) -> Refusal | None:
    """The refusal for a pyhanko trust problem (an unlisted one: the signer is not trusted), or
    None when pyhanko's answer is too vague to tell a person why (validate again to know)."""
    name = getattr(indication, "name", str(indication))
    if name in VAGUE:
        return None
    return Refusal(ADES_STATUS.get(name, "untrusted"), f"AdES {name}")


def _describe(trust: PurposeTrust, cert: asn1_x509.Certificate) -> dict[str, Any]:
    policies = _policies(cert)
    return {
        "acr": trust.acr_for(policies),
        "subject": read_subject(cert),
        "serial": format(cert.serial_number, "X"),
        "issuer": cert.issuer.human_friendly,
        "fingerprint": fingerprint(x509.load_der_x509_certificate(cert.dump())),
        "policies": policies,
        "chain": (cert.subject.human_friendly,),
    }


def _policies(cert: asn1_x509.Certificate) -> tuple[str, ...]:
    value = cert.certificate_policies_value
    if value is None:
        return ()
    return tuple(str(info["policy_identifier"].dotted) for info in value)


def _usage_problem(trust: PurposeTrust, cert: asn1_x509.Certificate) -> str | None:
    value = cert.key_usage_value
    allowed = set(value.native) if value is not None else set()
    if value is None or not (allowed & trust.key_usage):
        return f"key usage {sorted(allowed) or 'absent'}; one of {sorted(trust.key_usage)} is required"
    return None


def _refusal(base: dict[str, Any], exc: BaseException) -> CertificateVerdict:
    detail = str(exc)[:300]
    if isinstance(exc, cv_errors.RevokedError):
        status = "revoked"
    elif isinstance(exc, cv_errors.ExpiredError):
        status = "expired"
    elif isinstance(exc, cv_errors.NotYetValidError):
        status = "not_yet_valid"
    elif isinstance(exc, cv_errors.InsufficientRevinfoError):
        status = "revocation_unknown"
    elif isinstance(exc, cv_errors.DisallowedAlgorithmError):
        status = "weak_algorithm"
    elif isinstance(exc, cv_errors.InvalidCertificateError) and "usage" in detail.lower():
        status = "wrong_key_usage"
    else:
        status = "untrusted"
    revocation = RevocationReport("ocsp" if "OCSP" in detail else "crl" if "CRL" in detail else "none")
    if status == "revoked":
        base = {**base, "revocation": revocation}
    return CertificateVerdict(status=status, detail=detail, **base)


def _revocation_source(fetchers: Fetchers, cert: asn1_x509.Certificate) -> RevocationReport:
    for response in fetchers.ocsp_fetcher.fetched_responses_for_cert(cert):
        try:
            data = response["response_bytes"]["response"].parsed["tbs_response_data"]
            status = data["responses"][0]["cert_status"].name
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if status == "good":
            return RevocationReport("ocsp", data["produced_at"].native.isoformat())
    try:
        crls = list(fetchers.crl_fetcher.fetched_crls_for_cert(cert))
    except KeyError:
        crls = []
    if crls:
        return RevocationReport("crl", crls[0]["tbs_cert_list"]["this_update"].native.isoformat())
    return RevocationReport("none")
