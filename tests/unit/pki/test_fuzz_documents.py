"""Hypothesis fuzzes the verification service's entry point with malformed PDF, XML and CMS: both
mutations of genuine signed documents and documents generated from each format's grammar (PDF
objects nested and compressed, XML with DTDs and entities and signature skeletons, DER trees under
the SignedData type). Every example gets a report or a 4xx refusal, in bounded time
(``outcome`` in test_hostile_documents asserts both)."""

from __future__ import annotations

import asyncio
import base64
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.net.outbound import OutboundPolicy
from idp.pki.documents import SignatureVerifier
from idp.pki.report import DocumentRejected
from idp.pki.trust import read_trust_file
from idp.pki.validation import PathValidator
from tests.fakes import RecordingAudit
from tests.unit.pki.corpus import DOCUMENT, cms_signature, signed_pdf, signed_xml
from tests.unit.pki.support import RevocationServer, TestPki
from tests.unit.pki.test_hostile_documents import outcome

FUZZ = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")


def _verifier(pki: TestPki) -> SignatureVerifier:
    return SignatureVerifier(read_trust_file(pki.trust_file()), PathValidator(OutboundPolicy(allow_loopback=True)),
                             RecordingAudit(), max_bytes=2 * 1024 * 1024, time_limit=10)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with a few bits flipped, spans cut or inserted, and length bytes changed."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "length"]))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        else:
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x82, 0x84, 0x89, 0xFF]))
    return bytes(data)


# --- PDF: objects from the grammar -----------------------------------------------------------

_pdf_atoms = st.one_of(
    st.integers(-2**63, 2**63).map(lambda n: str(n).encode()),
    st.sampled_from([b"/Type", b"/Catalog", b"/Pages", b"/Sig", b"/ByteRange", b"/Contents", b"/Filter",
                     b"/FlateDecode", b"/Length", b"/Kids", b"/Count", b"null", b"true", b"1 0 R", b"99 0 R"]),
    st.binary(max_size=12).map(lambda b: b"<" + b.hex().encode() + b">"),
    st.text(alphabet="abc()\\", max_size=10).map(lambda t: b"(" + t.encode() + b")"),
)
_pdf_values = st.recursive(
    _pdf_atoms,
    lambda inner: st.one_of(st.lists(inner, max_size=5).map(lambda xs: b"[" + b" ".join(xs) + b"]"),
                            st.lists(st.tuples(_pdf_atoms, inner), max_size=4).map(
                                lambda kv: b"<< " + b" ".join(k + b" " + v for k, v in kv) + b" >>")),
    max_leaves=30)


@st.composite
def generated_pdf(draw: st.DrawFn) -> bytes:
    """A PDF-shaped file: a catalog, random objects, maybe a compressed (or bomb-like) stream,
    maybe a signature dictionary with a random byte range, and a random or absent xref."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [] /Count " + str(draw(st.integers(-5, 10**9))).encode() + b" >>"]
    objects += draw(st.lists(_pdf_values, max_size=4))
    if draw(st.booleans()):
        raw = b"0" * draw(st.sampled_from([10, 10_000, 5_000_000]))  # compresses to a few KiB at most
        data = zlib.compress(raw, 9) if draw(st.booleans()) else draw(st.binary(max_size=64))
        objects.append(b"<< /Filter /FlateDecode /Length " + str(len(data)).encode() + b" >>\nstream\n" + data
                       + b"\nendstream")
    if draw(st.booleans()):
        numbers = b" ".join(str(draw(st.integers(-10, 10**7))).encode() for _ in range(draw(st.integers(0, 6))))
        objects.append(b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange ["
                       + numbers + b"] /Contents <" + draw(st.binary(max_size=64)).hex().encode() + b"> >>")
    body = b"%PDF-1.7\n" + b"".join(f"{i + 1} 0 obj\n".encode() + o + b"\nendobj\n" for i, o in enumerate(objects))
    xref = draw(st.sampled_from([b"", b"xref\n0 1\n0000000000 65535 f \n", b"xref\n0 99999999\n"]))
    trailer = b"trailer\n<< /Root 1 0 R /Size " + str(draw(st.integers(-1, 10**6))).encode() + b" >>\n"
    return body + xref + trailer + b"startxref\n" + str(draw(st.integers(0, len(body) + 50))).encode() + b"\n%%EOF\n"


# --- XML: trees with DTDs, entities and signature skeletons ----------------------------------

_names = st.sampled_from(["HoSo", "ThuTuc", "ds:Signature", "ds:SignedInfo", "ds:Reference", "ds:SignatureValue",
                          "ds:KeyInfo", "ds:X509Data", "ds:X509Certificate", "xades:QualifyingProperties", "a"])
_texts = st.one_of(st.text(max_size=20).map(lambda t: t.replace("<", "").replace("&", "")),
                   st.sampled_from(["&lol;", "&x;", "&#x41;", "]]>", "<![CDATA[x]]>"]),
                   st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()))


def _element(name: str, children: list[str], uri: str | None) -> str:
    attributes = ' xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xades="http://uri.etsi.org/01903/v1.3.2#"'
    if uri is not None:
        attributes += f' URI="{uri}" Id="{uri.strip("#")}"'
    return f"<{name}{attributes}>{''.join(children)}</{name}>"


_xml_tree = st.recursive(
    _texts,
    lambda inner: st.builds(_element, _names, st.lists(inner, max_size=4),
                            st.one_of(st.none(), st.sampled_from(["", "#x", "http://127.0.0.1:9/x", "file:///etc/passwd"]))),
    max_leaves=25)
_doctypes = st.sampled_from([
    "", '<!DOCTYPE r [<!ENTITY lol "lol"><!ENTITY x "&lol;&lol;&lol;">]>',
    '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>', '<!DOCTYPE r SYSTEM "http://127.0.0.1:9/dtd">',
    '<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]>'])


@st.composite
def generated_xml(draw: st.DrawFn) -> bytes:
    declaration = draw(st.sampled_from(['<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-8"?>', ""]))
    root = _element("HoSo", draw(st.lists(_xml_tree, min_size=1, max_size=4)), None)
    return (declaration + draw(_doctypes) + root).encode()


# --- CMS: DER trees under the SignedData type -------------------------------------------------

def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(encoded)]) + encoded + content


_der_leaves = st.one_of(
    st.builds(_der, st.sampled_from([0x02, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x17, 0x18]), st.binary(max_size=16)),
    st.sampled_from([SIGNED_DATA_OID, bytes.fromhex("06092a864886f70d010701"), b"\x02\x01\x01", b"\x30\x80"]),
)
_der_trees = st.recursive(
    _der_leaves,
    lambda inner: st.builds(_der, st.sampled_from([0x30, 0x31, 0xA0, 0xA1, 0xA3]),
                            st.lists(inner, max_size=4).map(b"".join)),
    max_leaves=30)


@st.composite
def generated_cms(draw: st.DrawFn) -> bytes:
    """A ContentInfo of type signedData around a random DER tree (lengths always well formed, so
    the parser goes deep into the structure instead of stopping at the first byte)."""
    inner = draw(_der_trees)
    return _der(0x30, SIGNED_DATA_OID + _der(0xA0, inner))


# --- the tests ----------------------------------------------------------------------------------

def test_pdfs(test_pki_server: tuple[TestPki, RevocationServer]) -> None:
    pki, _ = test_pki_server
    verifier, genuine = _verifier(pki), signed_pdf(pki["citizen"])

    @FUZZ
    @given(st.one_of(mutated(genuine), generated_pdf()))
    def check(document: bytes) -> None:
        outcome(verifier, document)

    check()


def test_xml(test_pki_server: tuple[TestPki, RevocationServer]) -> None:
    pki, _ = test_pki_server
    verifier, genuine = _verifier(pki), signed_xml(pki["citizen"], xades=True)

    @FUZZ
    @given(st.one_of(mutated(genuine), generated_xml()))
    def check(document: bytes) -> None:
        outcome(verifier, document)
        if b"<!DOCTYPE" in document:
            try:  # a DTD is never read: refused before any entity could expand or be fetched
                asyncio.run(verifier.verify(document, format="xml", requester="fuzz"))
            except DocumentRejected as exc:
                assert exc.reason == "dtd_refused"
            else:
                raise AssertionError("a document with a DTD was verified")

    check()


def test_cms(test_pki_server: tuple[TestPki, RevocationServer]) -> None:
    pki, _ = test_pki_server
    verifier, genuine = _verifier(pki), cms_signature(pki["citizen"])

    @FUZZ
    @given(st.one_of(mutated(genuine), generated_cms()), st.booleans())
    def check(document: bytes, detached: bool) -> None:
        outcome(verifier, document, DOCUMENT if detached else None)

    check()
