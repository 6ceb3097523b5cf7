"""Signed documents made in the tests with the test PKI's keys: CMS detached and enveloping
(``cryptography``'s PKCS#7 builder, as OpenSSL writes them), PDF (pyhanko's signer, the way a
PAdES tool signs) and XML (signxml, enveloped XMLDSig)."""

from __future__ import annotations

import asyncio
import datetime
import io

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from lxml import etree
from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore
from signxml import SignatureMethod, XMLSigner
from signxml.xades import XAdESSigner

from tests.unit.pki.support import Issued

DOCUMENT = "Tờ khai lệ phí trước bạ — số tiền: 1.000.000 đồng".encode()
XML_DOCUMENT = ("<HoSo xmlns=\"urn:vn:dvc:hoso\"><ThuTuc>Đăng ký hộ kinh doanh</ThuTuc>"
                "<SoTien>1000000</SoTien></HoSo>").encode()


def cms_signature(signer: Issued, data: bytes = DOCUMENT, *, detached: bool = True) -> bytes:
    """A CMS SignedData over ``data`` with the signer's chain (without the root)."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(signer.cert, signer.key, hashes.SHA256())
    for issuer in signer.chain()[1:]:
        builder = builder.add_certificate(issuer.cert)
    options = [pkcs7.PKCS7Options.Binary] + ([pkcs7.PKCS7Options.DetachedSignature] if detached else [])
    return builder.sign(serialization.Encoding.DER, options)


def time_stamper(tsa: Issued, at: datetime.datetime) -> DummyTimeStamper:
    """An RFC 3161 time-stamping authority (pyhanko's in-process one) whose tokens say ``at``."""
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa.der),
        tsa_key=load_private_key_from_pemder_data(tsa.key_pem(), passphrase=None),
        certs_to_embed=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(c.der)
                                                          for c in tsa.chain()[1:]]),
        fixed_dt=at)


def _pyhanko_signer(signer: Issued) -> signers.SimpleSigner:
    key = load_private_key_from_pemder_data(signer.key_pem(), passphrase=None)
    chain = [asn1_x509.Certificate.load(c.der) for c in signer.chain()[1:]]
    return signers.SimpleSigner(signing_cert=asn1_x509.Certificate.load(signer.der), signing_key=key,
                                cert_registry=SimpleCertificateStore.from_certs(chain))


def timestamped_cms(signer: Issued, tsa: Issued, at: datetime.datetime, data: bytes = DOCUMENT) -> bytes:
    """A detached CMS signature over ``data`` with an RFC 3161 timestamp token from ``tsa`` dated ``at``."""
    signed = asyncio.run(_pyhanko_signer(signer).async_sign_general_data(data, "sha256", detached=True,
                                                                          timestamper=time_stamper(tsa, at)))
    return bytes(signed.dump())


def blank_pdf(text: str = "To khai le phi truoc ba") -> bytes:
    writer = PdfFileWriter()
    stream = generic.StreamObject(stream_data=f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("ascii"))
    box = generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)])
    writer.insert_page(PageObject(contents=writer.add_object(stream), media_box=box))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def signed_pdf(signer: Issued, pdf: bytes | None = None, *, field: str = "ChuKy1",
               timestamp: DummyTimeStamper | None = None) -> bytes:
    """``pdf`` (a blank one by default) signed by ``signer`` in an incremental update."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf or blank_pdf()))
    return signers.sign_pdf(writer, PdfSignatureMetadata(field_name=field), signer=_pyhanko_signer(signer),
                            timestamper=timestamp).getvalue()


def changed_after_signing(pdf: bytes) -> bytes:
    """An incremental update after the signature that replaces the page's content."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 720 Td (Khac) Tj ET"))
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def signed_xml(signer: Issued, data: bytes = XML_DOCUMENT, *, xades: bool = False) -> bytes:
    """Enveloped XMLDSig over ``data`` (XAdES-BES with its signed properties when ``xades``)."""
    chain = [c.pem.decode("ascii") for c in signer.chain()]
    root = etree.fromstring(data)
    tool = (XAdESSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256) if xades
            else XMLSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256))
    signed = tool.sign(root, key=signer.key_pem(), cert=chain)
    return bytes(etree.tostring(signed))
