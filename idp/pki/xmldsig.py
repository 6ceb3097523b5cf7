"""XML signatures (XMLDSig, and XAdES: its signed properties too), with signxml over a hardened lxml.

The document is read with no DTD at all (a ``<!DOCTYPE`` is refused before parsing, so neither
entity expansion, billion laughs, nor an external entity is possible), no network, lxml's default
depth and size limits (``huge_tree`` off); references may point into the document only (``""`` or
``#id``), never to a URL or a file. signxml checks the references' digests and the signature with
the certificate the signature carries; the certificate's chain is then validated by
:mod:`idp.pki.validation` like any other. One ``ds:Signature`` per document is verified (a
document with more is refused rather than half-checked).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from asn1crypto import x509 as asn1_x509
from lxml import etree
from signxml.exceptions import InvalidInput, InvalidSignature, SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

from idp.pki.report import DocumentRejected, SignatureReport, SignerReport
from idp.pki.trust import PurposeTrust
from idp.pki.validation import PathValidator

DSIG = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
MAX_REFERENCES = 10
DOCTYPE = re.compile(rb"<!\s*DOCTYPE|<!\s*ENTITY", re.IGNORECASE)


def is_xml(data: bytes) -> bool:
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_blank_text=False)


def parse_xml(data: bytes) -> Any:
    """The document's root; DocumentRejected for a DTD or anything lxml cannot read."""
    if DOCTYPE.search(data):
        raise DocumentRejected("dtd_refused", "XML with a DOCTYPE or ENTITY declaration is not accepted")
    try:
        root = etree.fromstring(data, parser=_parser())
    except (etree.XMLSyntaxError, ValueError):
        raise DocumentRejected("malformed", "not well-formed XML") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:  # a DTD in another encoding than the byte check reads
        raise DocumentRejected("dtd_refused", "XML with a DOCTYPE or ENTITY declaration is not accepted")
    return root


def _refuse_uri(uri: str) -> bytes:
    raise InvalidInput("references outside the document are not followed")


async def verify_xml(data: bytes, trust: PurposeTrust | None, validator: PathValidator) -> list[SignatureReport]:
    root = parse_xml(data)
    signatures = root.findall(f".//{{{DSIG}}}Signature")
    if root.tag == f"{{{DSIG}}}Signature":
        signatures.insert(0, root)
    if not signatures:
        raise DocumentRejected("no_signature", "the XML document has no ds:Signature")
    if len(signatures) > 1:
        raise DocumentRejected("unsupported", "more than one ds:Signature in one XML document is not supported")
    signature = signatures[0]
    references = signature.findall(f"{{{DSIG}}}SignedInfo/{{{DSIG}}}Reference")
    if not 1 <= len(references) <= MAX_REFERENCES:
        raise DocumentRejected("malformed", f"a signature needs 1 to {MAX_REFERENCES} references")
    certs = _certificates(signature)
    if not certs:
        raise DocumentRejected("no_certificate", "the signature carries no X509Certificate")
    signer_cert = certs[0]
    coverage = "whole_document" if any(r.get("URI") == "" for r in references) else "referenced_parts"
    problems: tuple[str, ...] = ()
    xades = signature.find(f".//{{{XADES}}}QualifyingProperties") is not None
    # the signature is checked at a moment the certificate was valid: whether it still is (or was
    # when signing) is the path validation's answer, not an integrity failure
    moment = signer_cert.not_valid_before
    try:
        if xades:  # XAdES: the signed properties too (the signing certificate's digest, the signing time)
            XAdESVerifier().verify(data, x509_cert=_pem(signer_cert), parser=_parser(), uri_resolver=_refuse_uri,
                                   expect_config=XAdESSignatureConfiguration(expect_references=len(references),
                                                                             verification_time=moment))
        else:
            XMLVerifier().verify(data, x509_cert=_pem(signer_cert), parser=_parser(), uri_resolver=_refuse_uri,
                                 expect_config=SignatureConfiguration(expect_references=len(references),
                                                                      verification_time=moment))
        intact = True
    except InvalidSignature as exc:
        intact, problems = False, (str(exc)[:200],)
    except (InvalidInput, SignXMLException, ValueError, etree.LxmlError) as exc:
        intact, problems = False, (f"unverifiable signature ({type(exc).__name__})",)
    if trust is not None:
        verdict = await validator.validate(trust, signer_cert, certs[1:])
        signer = SignerReport.from_verdict(verdict, signer_cert.subject.human_friendly)
    else:
        signer = SignerReport(subject=signer_cert.subject.human_friendly, issuer=signer_cert.issuer.human_friendly,
                              serial=format(signer_cert.serial_number, "X"), fingerprint="", chain=(),
                              status="untrusted", reason="no certificate is trusted for documents", trusted=False,
                              revocation_source="none", revocation_checked_at=None, acr=None)
    signing_time = signature.findtext(f".//{{{XADES}}}SigningTime") if xades and intact else None
    return [SignatureReport(index=0, intact=intact, coverage=coverage, signer=signer, signing_time=signing_time,
                            problems=problems)]


def _certificates(signature: Any) -> list[asn1_x509.Certificate]:
    out = []
    for element in signature.findall(f"{{{DSIG}}}KeyInfo/{{{DSIG}}}X509Data/{{{DSIG}}}X509Certificate")[:10]:
        try:
            out.append(asn1_x509.Certificate.load(base64.b64decode("".join((element.text or "").split()))))
            out[-1].native  # noqa: B018 - parse now
        except (ValueError, TypeError):
            raise DocumentRejected("malformed", "an X509Certificate cannot be read") from None
    return out


def _pem(cert: asn1_x509.Certificate) -> str:
    body = base64.encodebytes(cert.dump()).decode("ascii")
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"
