"""Which certificates the provider trusts, per purpose, as data (``IDP_TRUST_FILE``).

Two purposes: ``sign_in`` (a person signs in with a certificate) and ``documents`` (a signed
document sent to the verification service). Each names its own anchors and rules::

    version: 1
    purposes:
      sign_in:
        roots: [national-root-g1.pem, national-root-g2.pem, gov-root.pem]  # PEM, relative to this file
        intermediates: [vnpt-ca.pem, gov-ca.pem]   # issuing CAs offered when a signer sends none
        key_usage: [digital_signature, non_repudiation]   # the certificate must allow one of them
        policies:                          # certificate-policy OID -> acr (pki-hw or pki-remote)
          "1.3.6.1.4.1.61234.1.1": pki-hw
        require_policy: true               # a certificate with none of these policies is refused
        revocation: {mode: hard-fail, sources: [ocsp, crl], timeout_seconds: 5}
        clock_skew_seconds: 300

Revocation ``mode``: ``hard-fail`` (a certificate whose revocation status cannot be learnt from
any listed source is refused), ``soft-fail`` (it is accepted when no source answers, refused when
one says revoked). ``sources`` are tried OCSP first, then the CRL. The file is read strictly like
a policy document: unknown fields, duplicate keys and anchors are errors, and the first error
names the file, the line and the field. A root must be a CA certificate valid now.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from idp.errors import IdpError
from policies.loa import Level
from policies.yaml_lines import YamlDocumentError, dotted, load_located

Purpose = Literal["sign_in", "documents"]
PURPOSES: tuple[Purpose, ...] = ("sign_in", "documents")
KeyUsageName = Literal["digital_signature", "non_repudiation"]
KEY_USAGES: tuple[KeyUsageName, ...] = ("digital_signature", "non_repudiation")
CERTIFICATE_ACRS = {"pki-hw": Level.PKI_HW, "pki-remote": Level.PKI_REMOTE}
OID_PATTERN = r"^[0-2](\.(0|[1-9][0-9]{0,9})){1,30}$"
MAX_CERTIFICATE_FILE_BYTES = 256 * 1024


class TrustConfigError(IdpError):
    """The trust file is invalid; the message names the file, the line and the field."""

    def __init__(self, source: str, line: int | None, field: str | None, message: str) -> None:
        where = source + (f", line {line}" if line else "") + (f", field {field}" if field else "")
        super().__init__(f"invalid trust file {where}: {message}")
        self.line = line
        self.field = field


class RevocationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["hard-fail", "soft-fail"] = "hard-fail"
    sources: tuple[Literal["ocsp", "crl"], ...] = Field(default=("ocsp", "crl"), min_length=1)
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)


class PurposeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    roots: tuple[str, ...] = Field(min_length=1)
    intermediates: tuple[str, ...] = ()
    key_usage: tuple[KeyUsageName, ...] = Field(default=KEY_USAGES, min_length=1)
    policies: dict[str, Literal["pki-hw", "pki-remote"]] = Field(default_factory=dict)
    require_policy: bool = True
    revocation: RevocationPolicy = RevocationPolicy()
    clock_skew_seconds: int = Field(default=300, ge=0, le=3600)


class TrustFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    purposes: dict[Purpose, PurposeConfig] = Field(default_factory=dict)


@dataclass(frozen=True)
class PurposeTrust:
    """One purpose's anchors and rules, with the certificates read."""

    purpose: Purpose
    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]
    key_usage: frozenset[str]
    policies: Mapping[str, str]
    require_policy: bool
    revocation: RevocationPolicy
    clock_skew: datetime.timedelta

    def acr_for(self, policy_oids: tuple[str, ...]) -> str | None:
        """The highest acr token a certificate with these policy OIDs earns, or None."""
        levels = [CERTIFICATE_ACRS[self.policies[oid]] for oid in policy_oids if oid in self.policies]
        return max(levels).token if levels else None


@dataclass(frozen=True)
class Trust:
    """Every configured purpose (a purpose left out trusts nothing)."""

    source: str
    purposes: Mapping[str, PurposeTrust]

    def get(self, purpose: Purpose) -> PurposeTrust | None:
        return self.purposes.get(purpose)

    def acrs(self, purpose: Purpose) -> frozenset[str]:
        """The acr tokens a certificate trusted for ``purpose`` can earn."""
        trust = self.purposes.get(purpose)
        return frozenset(trust.policies.values()) if trust else frozenset()


NO_TRUST = Trust(source="(no trust file)", purposes={})


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, hex with colons (what operators compare)."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def parse_trust(text: str, source: str, base: Path, *, now: datetime.datetime | None = None) -> Trust:
    """Validate a trust file's text; certificate files are read relative to ``base``."""
    try:
        located = load_located(text)
    except YamlDocumentError as exc:
        raise TrustConfigError(source, exc.line, None, exc.message) from None
    try:
        model = TrustFileModel.model_validate(located.data)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = tuple(part for part in error["loc"] if isinstance(part, str | int) and part != "[key]")
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (a misspelling?)"
        elif error["type"] == "missing":
            message = "required field is missing"
        raise TrustConfigError(source, located.line_of(path), dotted(path) if path else None, message) from None
    moment = now or datetime.datetime.now(datetime.UTC)
    purposes: dict[str, PurposeTrust] = {}
    for name, config in model.purposes.items():
        def problem(path: tuple[str | int, ...], message: str, name: str = name) -> TrustConfigError:
            full = ("purposes", name, *path)
            return TrustConfigError(source, located.line_of(full), dotted(full), message)

        for oid in config.policies:
            if not re.fullmatch(OID_PATTERN, oid):
                raise problem(("policies", oid), f"{oid!r} is not a dotted object identifier")
        roots = tuple(_read_certificate(base, file, ("roots", i), problem, moment, root=True)
                      for i, file in enumerate(config.roots))
        intermediates = tuple(_read_certificate(base, file, ("intermediates", i), problem, moment, root=False)
                              for i, file in enumerate(config.intermediates))
        purposes[name] = PurposeTrust(
            purpose=name, roots=roots, intermediates=intermediates, key_usage=frozenset(config.key_usage),
            policies=dict(config.policies), require_policy=config.require_policy, revocation=config.revocation,
            clock_skew=datetime.timedelta(seconds=config.clock_skew_seconds))
    return Trust(source=source, purposes=purposes)


def _read_certificate(base: Path, file: str, where: tuple[str, int],
                      problem: Callable[[tuple[str | int, ...], str], TrustConfigError], now: datetime.datetime, *,
                      root: bool) -> x509.Certificate:
    path = base / file
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CERTIFICATE_FILE_BYTES + 1)
    except OSError as exc:
        raise problem(where, f"cannot read {file}: {exc.strerror or exc}") from None
    if len(data) > MAX_CERTIFICATE_FILE_BYTES:
        raise problem(where, f"{file} is larger than {MAX_CERTIFICATE_FILE_BYTES} bytes")
    try:
        cert = x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError:
        raise problem(where, f"{file} is not a PEM or DER certificate") from None
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        is_ca = False
    if not is_ca:
        raise problem(where, f"{file} is not a CA certificate (no basicConstraints cA=true)")
    if root and cert.issuer != cert.subject:
        raise problem(where, f"{file} is not self-issued: list it under intermediates")
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise problem(where, f"{file} is not valid now (valid {cert.not_valid_before_utc:%Y-%m-%d} to "
                      f"{cert.not_valid_after_utc:%Y-%m-%d})")
    return cert


def read_trust_file(path: Path, *, now: datetime.datetime | None = None) -> Trust:
    """Read and validate a trust file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise TrustConfigError(str(path), None, None, f"cannot read: {reason}") from None
    return parse_trust(text, str(path), path.parent, now=now)


def load_trust(trust_file: Path | None) -> Trust:
    """The configured trust (``IDP_TRUST_FILE``), or :data:`NO_TRUST` when none is set."""
    return NO_TRUST if trust_file is None else read_trust_file(trust_file)
