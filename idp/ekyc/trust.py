"""The trust anchors of passive authentication: the configured CSCA certificates and their CRLs.

Which CSCA to trust is the operator's decision (the Vietnamese CSCA is not published on the ICAO
PKD at the time of writing): ``IDP_EKYC_CSCA_BUNDLE`` names a PEM file of CSCA certificates and
``IDP_EKYC_CSCA_CRL`` a PEM or DER file of their CRLs. A CRL whose signature no configured CSCA
vouches for stops start-up rather than being ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from idp.errors import IdpError


class TrustStoreError(IdpError):
    """The CSCA bundle or CRL file cannot be used; the message names the file."""


@dataclass(frozen=True)
class TrustStore:
    """CSCA certificates (each a CA) and the CRLs each has signed, keyed by the CSCA's subject."""

    cscas: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] = ()

    def issuers_of(self, certificate: x509.Certificate) -> list[x509.Certificate]:
        """The CSCAs that directly issued ``certificate`` (name and signature both match)."""
        found = []
        for csca in self.cscas:
            try:
                certificate.verify_directly_issued_by(csca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            found.append(csca)
        return found

    def crls_of(self, csca: x509.Certificate) -> list[x509.CertificateRevocationList]:
        """The CRLs that ``csca`` issued and signed."""
        return [crl for crl in self.crls if crl.issuer == csca.subject and _signed_by(crl, csca)]


def _signed_by(crl: x509.CertificateRevocationList, csca: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(csca.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def load_trust_store(bundle: Path, crl_file: Path | None = None) -> TrustStore:
    """Read the CSCA bundle (PEM) and the CRL file (PEM or DER); raise TrustStoreError."""
    try:
        cscas = tuple(x509.load_pem_x509_certificates(bundle.read_bytes()))
    except OSError as exc:
        raise TrustStoreError(f"cannot read the CSCA bundle {bundle}: {exc.strerror or exc}") from None
    except ValueError:
        raise TrustStoreError(f"the CSCA bundle {bundle} holds no PEM certificate") from None
    for csca in cscas:
        if not _is_ca(csca):
            raise TrustStoreError(f"the CSCA bundle {bundle} holds a certificate that is not a CA")
    crls: list[x509.CertificateRevocationList] = []
    if crl_file is not None:
        try:
            raw = crl_file.read_bytes()
        except OSError as exc:
            raise TrustStoreError(f"cannot read the CSCA CRL file {crl_file}: {exc.strerror or exc}") from None
        try:
            if b"-----BEGIN X509 CRL-----" in raw:
                marker = b"-----END X509 CRL-----"
                crls = [x509.load_pem_x509_crl(part + marker) for part in raw.split(marker) if part.strip()]
            else:
                crls = [x509.load_der_x509_crl(raw)]
        except ValueError:
            raise TrustStoreError(f"the CSCA CRL file {crl_file} is not a CRL in PEM or DER") from None
    store = TrustStore(cscas, tuple(crls))
    for crl in crls:
        if not any(crl.issuer == csca.subject and _signed_by(crl, csca) for csca in cscas):
            raise TrustStoreError(f"a CRL in {crl_file} is not signed by any configured CSCA")
    return store
