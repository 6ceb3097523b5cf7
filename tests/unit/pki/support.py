"""A test PKI shaped like Vietnam's, made at test time (no private key is ever committed).

- Two national roots (the old and the new one, both trusted) and under them licensed public CAs
  (``VNPT-CA`` under the new root, ``Viettel-CA`` under the old one); the Government CA's own root
  with its issuing CA for officials; and a rogue root nobody trusts.
- End entities with Vietnamese subjects: a citizen (``UID=CCCD:...``), an official of the
  provincial people's committee, a business by tax code (``UID=MST:...``), a person of that business
  (its name as ``O``, ``UID=CCCD:...`` and ``UID=MST:...``), a revoked and an expired
  citizen, one without a signing key usage, a remote-signing citizen (its own policy OID), one
  issued under the rogue root, and a time-stamping authority (RFC 3161) under VNPT-CA.
- An OCSP responder and a CRL server on loopback (:class:`RevocationServer`, built with
  ``cryptography``'s OCSP and CRL builders); every certificate names them in its AIA and CRL
  distribution points. Each can be switched off to see hard-fail and soft-fail.

Other suites import the fixture (``from tests.unit.pki.support import test_pki``).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID, OCSPExtensionOID

# Certificate policies of the test PKI (a private arc: no real CA uses these numbers).
POLICY_HW = "1.3.6.1.4.1.61234.1.1"  # signing key on a hardware token
POLICY_REMOTE = "1.3.6.1.4.1.61234.1.2"  # remote signing, confirmed in a phone app
POLICY_SOFT = "1.3.6.1.4.1.61234.1.9"  # a policy the trust file does not map

UTC = datetime.UTC


def _name(common_name: str, *, organization: str | None = None, uid: str | tuple[str, ...] | None = None,
          locality: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if locality:
        parts.append(x509.NameAttribute(NameOID.LOCALITY_NAME, locality))
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    for value in (uid,) if isinstance(uid, str) else uid or ():
        parts.append(x509.NameAttribute(NameOID.USER_ID, value))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


@dataclass
class Issued:
    """A certificate with its private key."""

    name: str
    cert: x509.Certificate
    key: Any  # ec.EllipticCurvePrivateKey (rsa.RSAPrivateKey for the time-stamping authority)
    issuer: Issued | None = None

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def chain(self) -> list[Issued]:
        """This certificate and its issuers up to (not including) the root."""
        out: list[Issued] = []
        node: Issued | None = self
        while node is not None and node.issuer is not None:
            out.append(node)
            node = node.issuer
        return out


@dataclass
class Revocations:
    """What the responders answer: revoked serials per issuing CA, and whether each answers."""

    revoked: dict[int, datetime.datetime] = field(default_factory=dict)
    ocsp_up: bool = True
    crl_up: bool = True
    ocsp_forged: bool = False  # OCSP answers "good" signed by a key with no authority for the CA


@dataclass
class TestPki:
    """Every certificate of the test PKI by name, the responders' base URL, and a trust file."""

    __test__ = False

    base_url: str
    certs: dict[str, Issued]
    revocations: Revocations
    directory: Path

    def __getitem__(self, name: str) -> Issued:
        return self.certs[name]

    def trust_file(self, *, mode: str = "hard-fail", sources: tuple[str, ...] = ("ocsp", "crl")) -> Path:
        """A trust file trusting both national roots and the Government CA's root for both
        purposes, with ``mode`` and ``sources`` as its revocation policy."""
        for name in ("national-root-g1", "national-root-g2", "gov-root", "vnpt-ca", "viettel-ca", "gov-ca",
                     "rogue-root"):
            (self.directory / f"{name}.pem").write_bytes(self.certs[name].pem)
        purpose = (
            "    roots: [national-root-g1.pem, national-root-g2.pem, gov-root.pem]\n"
            "    intermediates: [vnpt-ca.pem, viettel-ca.pem, gov-ca.pem]\n"
            "    key_usage: [digital_signature, non_repudiation]\n"
            "    policies:\n"
            f"      \"{POLICY_HW}\": pki-hw\n"
            f"      \"{POLICY_REMOTE}\": pki-remote\n"
            "    revocation:\n"
            f"      mode: {mode}\n"
            f"      sources: [{', '.join(sources)}]\n"
            "      timeout_seconds: 2\n"
            "    clock_skew_seconds: 120\n"
        )
        path = self.directory / f"trust-{mode}-{'-'.join(sources)}.yaml"
        path.write_text(f"version: 1\npurposes:\n  sign_in:\n{purpose}  documents:\n{purpose}", encoding="utf-8")
        return path


class _Builder:
    def __init__(self, base_url: str, now: datetime.datetime) -> None:
        self.base_url = base_url
        self.now = now
        self.serial = 0x1000
        self.certs: dict[str, Issued] = {}

    def _next_serial(self) -> int:
        self.serial += 1
        return self.serial

    def root(self, name: str, subject: x509.Name) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(self._next_serial())
                .not_valid_before(self.now - datetime.timedelta(days=3650))
                .not_valid_after(self.now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(_usage(cert_sign=True), critical=True)
                .add_extension(ski, critical=False)
                .sign(key, hashes.SHA256()))
        issued = Issued(name, cert, key)
        self.certs[name] = issued
        return issued

    def issue(self, name: str, issuer: Issued, subject: x509.Name, *, ca: bool = False,
              policies: tuple[str, ...] = (POLICY_HW,), not_before: datetime.datetime | None = None,
              not_after: datetime.datetime | None = None, usage: x509.KeyUsage | None = None,
              eku: x509.ObjectIdentifier | None = None, rsa_key: bool = False) -> Issued:
        key: Any = rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
        serial = self._next_serial()
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.cert.subject)
                   .public_key(key.public_key()).serial_number(serial)
                   .not_valid_before(not_before or self.now - datetime.timedelta(days=30))
                   .not_valid_after(not_after or self.now + datetime.timedelta(days=365 * (5 if ca else 2)))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
                   .add_extension(usage or _usage(cert_sign=ca), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                                  critical=False)
                   .add_extension(x509.CertificatePolicies(
                       [x509.PolicyInformation(x509.ObjectIdentifier(oid), None)
                        for oid in (("2.5.29.32.0",) if ca else policies)]), critical=False)
                   .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                       [x509.UniformResourceIdentifier(f"{self.base_url}/crl/{issuer.name}.crl")],
                       None, None, None)]), critical=False))
        if eku is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
        if not ca:
            builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier(f"{self.base_url}/ocsp/{issuer.name}"))]), critical=False)
        cert = builder.sign(issuer.key, hashes.SHA256())
        issued = Issued(name, cert, key, issuer)
        self.certs[name] = issued
        return issued


def _usage(*, cert_sign: bool = False, signing: bool = True, encipherment: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=signing and not cert_sign, content_commitment=signing and not cert_sign,
                         key_encipherment=encipherment, data_encipherment=False, key_agreement=False,
                         key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False)


def build_test_pki(base_url: str, directory: Path, now: datetime.datetime | None = None) -> TestPki:
    """Make every certificate of the test PKI (keys in memory); the revoked citizen is revoked a
    day before ``now``."""
    now = now or datetime.datetime.now(UTC)
    b = _Builder(base_url, now)
    old_root = b.root("national-root-g1", _name("Vietnam National Root CA",
                                                organization="Ministry of Information and Communications"))
    new_root = b.root("national-root-g2", _name("Vietnam National Root CA G2",
                                                organization="Ministry of Science and Technology"))
    gov_root = b.root("gov-root", _name("Vietnam Government Root CA", organization="Ban Cơ yếu Chính phủ"))
    rogue = b.root("rogue-root", _name("Vietnam National Root CA", organization="Không phải Bộ"))
    vnpt = b.issue("vnpt-ca", new_root, _name("VNPT Certification Authority", organization="VNPT Group"), ca=True)
    viettel = b.issue("viettel-ca", old_root, _name("Viettel-CA", organization="Viettel Group"), ca=True)
    gov = b.issue("gov-ca", gov_root, _name("Cục Chứng thực số và Bảo mật thông tin",
                                            organization="Ban Cơ yếu Chính phủ"), ca=True)
    rogue_ca = b.issue("rogue-ca", rogue, _name("VNPT Certification Authority", organization="VNPT Group"), ca=True)
    b.issue("citizen", vnpt, _name("Nguyễn Văn An", uid="CCCD:001099012345", locality="Hà Nội"))
    b.issue("official", gov, _name("Trần Thị Bình", organization="Ủy ban nhân dân tỉnh Thái Bình",
                                    uid="CCCD:034088000123", locality="Thái Bình"))
    b.issue("business", vnpt, _name("CÔNG TY TNHH PHẦN MỀM SÔNG HỒNG", uid="MST:0101234567", locality="Hà Nội"))
    b.issue("business-person", vnpt, _name("Đỗ Thị Lan", organization="CÔNG TY TNHH PHẦN MỀM SÔNG HỒNG",
                                           uid=("CCCD:001190000333", "MST:0101234567"), locality="Hà Nội"))
    revoked = b.issue("revoked", vnpt, _name("Lê Văn Cường", uid="CCCD:001077000456"))
    b.issue("expired", vnpt, _name("Phạm Thị Dung", uid="CCCD:001066000789"),
            not_before=now - datetime.timedelta(days=800), not_after=now - datetime.timedelta(days=30))
    b.issue("wrong-usage", vnpt, _name("Hoàng Văn Em", uid="CCCD:001055000111"),
            usage=_usage(signing=False, encipherment=True))
    b.issue("remote", viettel, _name("Võ Thị Giang", uid="CCCD:079099000222"), policies=(POLICY_REMOTE,))
    b.issue("untrusted", rogue_ca, _name("Nguyễn Văn An", uid="CCCD:001099012345"))
    b.issue("tsa", vnpt, _name("VNPT Time Stamping Authority", organization="VNPT Group"),
            usage=_usage(), eku=x509.oid.ExtendedKeyUsageOID.TIME_STAMPING, rsa_key=True)  # pyhanko's test TSA: RSA
    b.issue("unmapped-policy", vnpt, _name("Đặng Văn Hải", uid="CMND:012345678"), policies=(POLICY_SOFT,))
    revocations = Revocations(revoked={revoked.cert.serial_number: now - datetime.timedelta(days=1)})
    return TestPki(base_url=base_url, certs=b.certs, revocations=revocations, directory=directory)


class RevocationServer:
    """An OCSP responder (``POST /ocsp/<ca>``, signed by the CA itself, nonce echoed) and a CRL
    server (``GET /crl/<ca>.crl``) for the test PKI, on a loopback port; answers are fresh for an
    hour (``nextUpdate``). ``requests`` counts what was asked, to see caching."""

    def __init__(self) -> None:
        self.pki: TestPki | None = None
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(f"GET {self.path}")
                body = server.crl(self.path)
                self._answer(body, "application/pkix-crl")

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(f"POST {self.path}")
                length = min(int(self.headers.get("Content-Length") or 0), 65536)
                body = server.ocsp(self.path, self.rfile.read(length))
                self._answer(body, "application/ocsp-response")

            def _answer(self, body: bytes | None, content_type: str) -> None:
                if body is None:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _ca(self, name: str) -> Issued | None:
        assert self.pki is not None
        issued = self.pki.certs.get(name)
        return issued if issued is not None and issued.issuer is not None else None

    def crl(self, path: str) -> bytes | None:
        assert self.pki is not None
        if not self.pki.revocations.crl_up or not path.startswith("/crl/") or not path.endswith(".crl"):
            return None
        ca = self._ca(path[len("/crl/"):-len(".crl")]) or self.pki.certs.get(path[len("/crl/"):-len(".crl")])
        if ca is None:
            return None
        now = datetime.datetime.now(UTC)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
                   .last_update(now - datetime.timedelta(minutes=5)).next_update(now + datetime.timedelta(hours=1))
                   .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                                  critical=False))
        for serial, when in self.pki.revocations.revoked.items():
            if any(c.cert.serial_number == serial and c.issuer is ca for c in self.pki.certs.values()):
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
                    .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False).build())
        return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp(self, path: str, body: bytes) -> bytes | None:
        assert self.pki is not None
        if not self.pki.revocations.ocsp_up or not path.startswith("/ocsp/"):
            return None
        ca = self._ca(path[len("/ocsp/"):])
        try:
            request = ocsp.load_der_ocsp_request(body)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
                serialization.Encoding.DER)
        if ca is None:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
                serialization.Encoding.DER)
        now = datetime.datetime.now(UTC)
        issued = next((c for c in self.pki.certs.values()
                       if c.issuer is ca and c.cert.serial_number == request.serial_number), None)
        revoked_at = self.pki.revocations.revoked.get(request.serial_number) if issued else None
        if issued is None:
            status = ocsp.OCSPCertStatus.UNKNOWN
        elif revoked_at is not None:
            status = ocsp.OCSPCertStatus.REVOKED
        else:
            status = ocsp.OCSPCertStatus.GOOD
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash, issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number, algorithm=request.hash_algorithm, cert_status=status,
            this_update=now - datetime.timedelta(minutes=1), next_update=now + datetime.timedelta(hours=1),
            revocation_time=revoked_at, revocation_reason=x509.ReasonFlags.key_compromise if revoked_at else None,
        )
        signer = ca
        if self.pki.revocations.ocsp_forged:  # "good" for everything, from a key that may not say so
            builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash, issuer_key_hash=request.issuer_key_hash,
                serial_number=request.serial_number, algorithm=request.hash_algorithm,
                cert_status=ocsp.OCSPCertStatus.GOOD, this_update=now - datetime.timedelta(minutes=1),
                next_update=now + datetime.timedelta(hours=1), revocation_time=None, revocation_reason=None)
            signer = self.pki.certs["rogue-ca"]
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer.cert)
        try:
            nonce = request.extensions.get_extension_for_oid(OCSPExtensionOID.NONCE).value
            builder = builder.add_extension(nonce, critical=False)
        except x509.ExtensionNotFound:
            pass
        return builder.sign(signer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


_made: list[tuple[TestPki, RevocationServer]] = []


@pytest.fixture(scope="session")
def test_pki_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestPki, RevocationServer]]:
    """The test PKI and its responders, made once per run (every importing module shares them)."""
    if _made:
        yield _made[0]
        return
    server = RevocationServer()
    pki = build_test_pki(server.base_url, tmp_path_factory.mktemp("pki"))
    server.pki = pki
    _made.append((pki, server))
    yield pki, server
    server.close()


@pytest.fixture
def test_pki(test_pki_server: tuple[TestPki, RevocationServer]) -> Iterator[TestPki]:
    """The test PKI with both responders answering (a test may switch one off for itself)."""
    pki, _ = test_pki_server
    pki.revocations.ocsp_up = pki.revocations.crl_up = True
    pki.revocations.ocsp_forged = False
    yield pki
    pki.revocations.ocsp_up = pki.revocations.crl_up = True
    pki.revocations.ocsp_forged = False
