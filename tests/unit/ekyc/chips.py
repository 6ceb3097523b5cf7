"""Synthetic chip ID cards for the eKYC tests, made at test time (no private key is committed).

:func:`make_chip_set` writes a test CSCA bundle and its CRL into a folder and returns chips for
several people with Vietnamese names and addresses: signed by an RSA and an ECDSA Document Signer,
with DG15 keys (RSA with ISO 9796-2 SHA-256 and SHA-1 trailers, ECDSA P-256) whose private halves
stay in memory to answer the active-authentication nonce, and the broken variants the passive and
active checks must refuse, each with the reason it must be refused for. The encoders here are
written apart from the parsers in ``idp/ekyc`` on purpose (the ICAO check digits are computed
again, not imported).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

LDS_OID = "2.23.136.1.1.1"
UTC = dt.UTC


@dataclass(frozen=True)
class Person:
    id_number: str
    full_name: str
    birth: dt.date
    sex: str  # "Nam" or "Nữ"
    home_town: str
    residence: str
    father: str
    mother: str
    old_id: str | None = None
    ethnicity: str = "Kinh"
    religion: str = "Không"


PEOPLE = (
    Person("001085012345", "Nguyễn Văn An", dt.date(1985, 3, 14), "Nam", "Xã Đông Hội, Đông Anh, Hà Nội",
           "Số 12 phố Hàng Bạc, phường Hoàn Kiếm, Hà Nội", "Nguyễn Văn Bình", "Trần Thị Cúc", "012345678"),
    Person("079192004567", "Trần Thị Bích Ngọc", dt.date(1992, 11, 2), "Nữ", "Phường Vĩnh Ninh, Huế",
           "Số 45 đường Lê Lợi, phường Bến Thành, Thành phố Hồ Chí Minh", "Trần Đức Long", "Lê Thị Hoa"),
    Person("022301009876", "Đặng Quốc Bảo", dt.date(2001, 7, 30), "Nam", "Xã Yên Giang, Quảng Yên, Quảng Ninh",
           "Tổ 5 khu 3, phường Hồng Gai, Quảng Ninh", "Đặng Văn Hùng", "Phạm Thị Mai", ethnicity="Tày",
           religion="Phật giáo"),
    Person("048203001122", "Lê Hoàng Yến Nhi", dt.date(2003, 1, 9), "Nữ", "Xã Hòa Tiến, Hòa Vang, Đà Nẵng",
           "Số 8 đường Bạch Đằng, phường Hải Châu, Đà Nẵng", "Lê Minh Tâm", "Võ Thị Thu"),
)


def tlv(tag: int, value: bytes) -> bytes:
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return tag_bytes + length + value


def icao_check(text: str) -> str:
    values = [int(c) if c.isdigit() else (ord(c) - 55 if c.isalpha() else 0) for c in text]
    return str(sum(v * w for v, w in zip(values, [7, 3, 1] * 20, strict=False)) % 10)


def _mrz_name(name: str) -> str:
    plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    words = "".join(c for c in plain if unicodedata.category(c) != "Mn").upper().split()
    return (words[0] + "<<" + "<".join(words[1:])).ljust(30, "<")[:30]


def encode_dg1(p: Person, expiry: dt.date) -> bytes:
    number = p.id_number[-9:]
    line1 = f"IDVNM{number}{icao_check(number)}{p.id_number}<<<"
    dob, exp = p.birth.strftime("%y%m%d"), expiry.strftime("%y%m%d")
    sex = "M" if p.sex == "Nam" else "F"
    head = f"{dob}{icao_check(dob)}{sex}{exp}{icao_check(exp)}VNM" + "<" * 11
    composite = line1[5:30] + head[0:7] + head[8:15] + head[18:29]
    mrz = line1 + head + icao_check(composite) + _mrz_name(p.full_name)
    assert len(mrz) == 90
    return tlv(0x61, tlv(0x5F1F, mrz.encode("ascii")))


def _field(number: int, *values: str) -> bytes:
    return tlv(0x30, tlv(0x02, bytes([number])) + b"".join(tlv(0x0C, v.encode()) for v in values))


def encode_dg13(p: Person, issued: dt.date, expiry: dt.date, *, name: str | None = None) -> bytes:
    day = "%d/%m/%Y"
    fields = [
        _field(1, p.id_number), _field(2, name or p.full_name), _field(3, p.birth.strftime(day)),
        _field(4, p.sex), _field(5, "Việt Nam"), _field(6, p.ethnicity), _field(7, p.religion),
        _field(8, p.home_town), _field(9, p.residence), _field(10, "Nốt ruồi C:1cm trên trước mép trái"),
        _field(11, issued.strftime(day)), _field(12, expiry.strftime(day)), _field(13, p.father, p.mother),
    ]
    if p.old_id:
        fields.append(_field(15, p.old_id))
    return tlv(0x6D, tlv(0x30, b"".join(fields)))


def encode_dg2(p: Person) -> bytes:
    face = hashlib.sha256(("face of " + p.id_number).encode()).digest() * 8
    return tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x01") + tlv(0x7F60, tlv(0x5F2E, face))))


def encode_dg15(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return tlv(0x6F, spki)


def encode_dg14(aa_hash_oid: str | None) -> bytes:
    infos = [tlv(0x30, core.ObjectIdentifier("0.4.0.127.0.7.2.2.3.2.2").dump() + core.Integer(1).dump())]
    if aa_hash_oid:
        infos.append(tlv(0x30, core.ObjectIdentifier("2.23.136.1.1.5").dump() + core.Integer(1).dump()
                         + core.ObjectIdentifier(aa_hash_oid).dump()))
    return tlv(0x6E, tlv(0x31, b"".join(sorted(infos))))


def encode_com(numbers: list[int]) -> bytes:
    tags = bytes({1: 0x61, 2: 0x75, 13: 0x6D, 14: 0x6E, 15: 0x6F}[n] for n in numbers)
    return tlv(0x60, tlv(0x5F01, b"0107") + tlv(0x5F36, b"040000") + tlv(0x5C, tags))


# --- PKI ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bo Cong an (test)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _certificate(subject: str, key, issuer: Signer | None, start: dt.datetime, end: dt.datetime,
                 serial: int, ca: bool) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(_name(subject))
               .issuer_name(issuer.certificate.subject if issuer else _name(subject))
               .public_key(key.public_key()).serial_number(serial).not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False, key_agreement=False,
                                            key_cert_sign=ca, crl_sign=ca, encipher_only=False,
                                            decipher_only=False), critical=True))
    signing_key = issuer.key if issuer else key
    return builder.sign(signing_key, hashes.SHA256())


def sign_sod(signer: Signer, data_groups: dict[int, bytes], signed_at: dt.datetime) -> bytes:
    """EF.SOD over ``data_groups`` (SHA-256), signed by ``signer`` at ``signed_at``."""
    lds = core.Sequence.load(
        tlv(0x30, core.Integer(0).dump() + tlv(0x30, core.ObjectIdentifier("2.16.840.1.101.3.4.2.1").dump())
            + tlv(0x30, b"".join(tlv(0x30, core.Integer(n).dump()
                                     + core.OctetString(hashlib.sha256(d).digest()).dump())
                                 for n, d in sorted(data_groups.items()))))
    ).dump()
    attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": [LDS_OID]}),
        cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": signed_at})]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(lds).digest()]}),
    ])
    to_sign = attrs.dump()
    if isinstance(signer.key, rsa.RSAPrivateKey):
        signature, algorithm = signer.key.sign(to_sign, PKCS1v15(), hashes.SHA256()), "sha256_rsa"
    else:
        signature, algorithm = signer.key.sign(to_sign, ec.ECDSA(hashes.SHA256())), "sha256_ecdsa"
    cert = asn1_x509.Certificate.load(signer.certificate.public_bytes(serialization.Encoding.DER))
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": {"issuer": cert.issuer,
                                                                  "serial_number": cert.serial_number}}),
        "digest_algorithm": {"algorithm": "sha256"},
        "signed_attrs": attrs,
        "signature_algorithm": {"algorithm": algorithm},
        "signature": signature,
    })
    signed = cms.SignedData({
        "version": "v3",
        "digest_algorithms": [{"algorithm": "sha256"}],
        "encap_content_info": {"content_type": LDS_OID, "content": lds},
        "certificates": [cert],
        "signer_infos": [signer_info],
    })
    return tlv(0x77, cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


# --- active authentication (the chip's side) ---------------------------------------------------

_TRAILER = {"sha256": b"\x34\xcc", "sha1": b"\xbc"}


def iso9796_sign(key: rsa.RSAPrivateKey, nonce: bytes, hash_name: str) -> bytes:
    """What an ICAO chip answers to INTERNAL AUTHENTICATE: ISO 9796-2 scheme 1, partial recovery."""
    size = key.key_size // 8
    trailer = _TRAILER[hash_name]
    m1 = hashlib.sha256(b"m1" + nonce).digest() * 16
    m1 = m1[: size - 1 - hashlib.new(hash_name).digest_size - len(trailer)]
    block = b"\x6a" + m1 + hashlib.new(hash_name, m1 + nonce).digest() + trailer
    numbers = key.private_numbers()
    s = pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n)
    return s.to_bytes(size, "big")


def ecdsa_plain_sign(key: ec.EllipticCurvePrivateKey, nonce: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(nonce, ec.ECDSA(hashes.SHA256())))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@dataclass(frozen=True)
class Chip:
    """One card as a reader sends it; ``refusal`` is the reason it must be refused, None if genuine."""

    label: str
    person: Person
    data_groups: dict[int, bytes]
    sod: bytes
    com: bytes
    aa_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None
    aa_hash: str = "sha256"
    refusal: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def answer(self, nonce: bytes) -> bytes | None:
        """The chip's active-authentication signature of ``nonce`` (None without a DG15 key)."""
        if self.aa_key is None:
            return None
        if isinstance(self.aa_key, rsa.RSAPrivateKey):
            return iso9796_sign(self.aa_key, nonce, self.aa_hash)
        return ecdsa_plain_sign(self.aa_key, nonce)

    def upload(self, nonce: bytes | None = None) -> dict[str, str]:
        """The JSON body a reader posts (base64 fields)."""
        import base64

        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode()

        body = {"sod": b64(self.sod), "com": b64(self.com)}
        body.update({f"dg{n}": b64(d) for n, d in self.data_groups.items()})
        signature = self.answer(nonce) if nonce is not None else None
        if signature is not None:
            body["aa_signature"] = b64(signature)
        return body


@dataclass(frozen=True)
class ChipSet:
    csca_bundle: Path
    csca_crl: Path
    csca_certificate: x509.Certificate
    chips: tuple[Chip, ...]

    def genuine(self) -> list[Chip]:
        return [c for c in self.chips if c.refusal is None]

    def broken(self) -> list[Chip]:
        return [c for c in self.chips if c.refusal is not None]

    def by_label(self, label: str) -> Chip:
        return next(c for c in self.chips if c.label == label)


def _rsa(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def build_chip(label: str, person: Person, signer: Signer, signed_at: dt.datetime, aa_key=None,
               aa_hash: str = "sha256", refusal: str | None = None, dg14_oid: str | None = None) -> Chip:
    """One card for ``person``, issued and signed by ``signer`` at ``signed_at``, valid 15 years."""
    issued = signed_at.date()
    expiry = issued.replace(year=issued.year + 15)
    groups = {1: encode_dg1(person, expiry), 2: encode_dg2(person), 13: encode_dg13(person, issued, expiry)}
    if dg14_oid:
        groups[14] = encode_dg14(dg14_oid)
    if aa_key is not None:
        groups[15] = encode_dg15(aa_key)
    return Chip(label, person, groups, sign_sod(signer, groups, signed_at), encode_com(sorted(groups)),
                aa_key, aa_hash, refusal)


def chip_for(person: Person) -> Chip:
    """A genuine card for any ``person`` (the RSA Document Signer; RSA active authentication)."""
    signers = chip_material()[1]
    signed_at = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(days=20)
    return build_chip(f"card-{person.id_number}", person, signers["rsa"], signed_at, _rsa(2048))


@cache
def chip_material() -> tuple[Signer, dict[str, Signer], x509.CertificateRevocationList, tuple[Chip, ...]]:
    now = dt.datetime.now(UTC).replace(microsecond=0)
    year = dt.timedelta(days=365)
    csca_key = _rsa(3072)
    csca = Signer(csca_key, _certificate("CSCA Viet Nam (test)", csca_key, None, now - 5 * year, now + 10 * year,
                                         1, True))
    other_key = _rsa(2048)
    other = Signer(other_key, _certificate("CSCA khac (test)", other_key, None, now - 5 * year, now + 10 * year,
                                           1, True))

    def ds(label: str, key, issuer: Signer, start: dt.datetime, end: dt.datetime, serial: int) -> Signer:
        return Signer(key, _certificate(f"Document Signer {label} (test)", key, issuer, start, end, serial, False))

    signers = {
        "rsa": ds("RSA", _rsa(), csca, now - year, now + 10 * year, 101),
        "ecdsa": ds("ECDSA", ec.generate_private_key(ec.SECP256R1()), csca, now - year, now + 10 * year, 102),
        "expired": ds("expired", _rsa(), csca, now - 2 * year, now - year // 2, 103),
        "revoked": ds("revoked", _rsa(), csca, now - year, now + 10 * year, 104),
        "foreign": ds("foreign", _rsa(), other, now - year, now + 10 * year, 105),
    }
    crl = (x509.CertificateRevocationListBuilder().issuer_name(csca.certificate.subject)
           .last_update(now - dt.timedelta(days=1)).next_update(now + dt.timedelta(days=30))
           .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(104)
                                    .revocation_date(now - dt.timedelta(days=2)).build())
           .sign(csca_key, hashes.SHA256()))
    signed_at = now - dt.timedelta(days=20)
    issued = signed_at.date()

    def chip(label: str, person: Person, signer: Signer, aa_key=None, aa_hash: str = "sha256",
             refusal: str | None = None, dg14_oid: str | None = None) -> Chip:
        return build_chip(label, person, signer, signed_at, aa_key, aa_hash, refusal, dg14_oid)

    an, ngoc, bao, nhi = PEOPLE
    genuine = [
        chip("rsa-aa-sha256", an, signers["rsa"], _rsa(2048), "sha256"),
        chip("ecdsa-aa-ecdsa", ngoc, signers["ecdsa"], ec.generate_private_key(ec.SECP256R1()),
             dg14_oid="0.4.0.127.0.7.1.1.4.1.3"),
        chip("rsa-aa-sha1", bao, signers["rsa"], _rsa(1024), "sha1"),
        chip("ecdsa-no-aa", nhi, signers["ecdsa"]),
    ]
    base = genuine[0]
    changed = dict(base.data_groups)
    changed[13] = encode_dg13(an, issued, issued.replace(year=issued.year + 15), name="Nguyễn Văn Ân")
    wrong_key = _rsa(2048)
    broken = [
        replace(base, label="changed-dg13", data_groups=changed, refusal="dg_hash_mismatch"),
        chip("foreign-ds", an, signers["foreign"], refusal="signer_untrusted"),
        chip("expired-ds", ngoc, signers["expired"], refusal="signer_expired"),
        chip("revoked-ds", bao, signers["revoked"], refusal="signer_revoked"),
        replace(base, label="wrong-aa", aa_key=wrong_key, refusal="aa_signature_invalid"),
        replace(base, label="truncated-sod", sod=base.sod[: len(base.sod) // 2], refusal="sod_malformed"),
    ]
    return csca, signers, crl, tuple(genuine + broken)


def make_chip_set(directory: Path) -> ChipSet:
    """Write the test CSCA bundle and CRL into ``directory`` and return every synthetic chip."""
    csca, _, crl, chips = chip_material()
    directory.mkdir(parents=True, exist_ok=True)
    bundle = directory / "csca.pem"
    bundle.write_bytes(csca.certificate.public_bytes(serialization.Encoding.PEM))
    crl_path = directory / "csca-crl.pem"
    crl_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    (directory / "chips.json").write_text(json.dumps({c.label: c.refusal for c in chips}, indent=1))
    return ChipSet(bundle, crl_path, csca.certificate, chips)
