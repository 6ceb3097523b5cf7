"""The remote-signing simulator's certificates for ``idp sandbox serve``: a sandbox root and issuing
CA (made at start, keys in memory only) and one remote-signing certificate per synthetic citizen
(``UID=CCCD:<personal ID number>``, the sandbox's remote-signing policy OID), so that a person of
the sandbox can sign in by remote signing and reach ``pki-remote``.

The certificates name no OCSP responder or CRL: the trust file :func:`write_trust_file` writes
accepts them under ``soft-fail`` (a sandbox, not a deployment). Its roots are the sandbox's alone.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp.sandbox.citizens import CITIZENS
from idp.sandbox.remote_signing import KeySigner, RemoteSigningService, RemoteUser

#: The sandbox's remote-signing certificate policy (a private arc: no real CA uses it).
SANDBOX_REMOTE_POLICY = "1.3.6.1.4.1.61234.9.2"
VALIDITY = datetime.timedelta(days=365)


def _name(common_name: str, uid: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sandbox (mô phỏng)")]
    if uid is not None:
        parts.append(x509.NameAttribute(NameOID.USER_ID, uid))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def _certificate(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
                 issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool, now: datetime.datetime) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + VALIDITY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(_usage(ca=ca), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if not ca:
        builder = builder.add_extension(x509.CertificatePolicies([x509.PolicyInformation(
            x509.ObjectIdentifier(SANDBOX_REMOTE_POLICY), None)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class SandboxSigningPki:
    root: x509.Certificate
    issuing_ca: x509.Certificate
    users: dict[str, RemoteUser]

    @classmethod
    def make(cls) -> SandboxSigningPki:
        now = datetime.datetime.now(datetime.UTC)
        root_key, ca_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        root_name, ca_name = _name("Sandbox Root CA (mô phỏng)"), _name("Sandbox Remote Signing CA (mô phỏng)")
        root = _certificate(root_name, root_key, root_name, root_key, ca=True, now=now)
        issuing = _certificate(ca_name, ca_key, root_name, root_key, ca=True, now=now)
        users = {}
        for citizen in CITIZENS:
            key = ec.generate_private_key(ec.SECP256R1())
            uid = f"CCCD:{citizen.personal_id}"
            cert = _certificate(_name(citizen.full_name, uid), key, ca_name, ca_key, ca=False, now=now)
            chain = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in (cert, issuing)]
            users[uid] = RemoteUser(KeySigner(key), chain)
        return cls(root, issuing, users)

    def service(self) -> RemoteSigningService:
        """The remote-signing simulator holding every synthetic citizen's key."""
        return RemoteSigningService(users=dict(self.users))

    def write_trust_file(self, directory: Path) -> Path:
        """A trust file (and its two PEM files) in ``directory`` trusting only this sandbox's root
        for signing in, its policy mapped to ``pki-remote``, revocation ``soft-fail``."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "sandbox-root.pem").write_bytes(self.root.public_bytes(serialization.Encoding.PEM))
        (directory / "sandbox-remote-ca.pem").write_bytes(self.issuing_ca.public_bytes(serialization.Encoding.PEM))
        path = directory / "sandbox-trust.yaml"
        path.write_text(
            "version: 1\npurposes:\n  sign_in:\n    roots: [sandbox-root.pem]\n"
            "    intermediates: [sandbox-remote-ca.pem]\n    key_usage: [digital_signature, non_repudiation]\n"
            f"    policies:\n      \"{SANDBOX_REMOTE_POLICY}\": pki-remote\n"
            "    revocation: {mode: soft-fail, sources: [ocsp, crl], timeout_seconds: 2}\n"
            "    clock_skew_seconds: 120\n", encoding="utf-8")
        return path
