"""eKYC with the chip citizen ID card (CCCD / thẻ căn cước), an ICAO 9303 document.

A reader (a phone over NFC, a counter reader) sends the card's data groups; this package checks
them without trusting the reader:

- :mod:`idp.ekyc.sod` parses EF.SOD (CMS SignedData over the LDS security object);
- :mod:`idp.ekyc.passive` is passive authentication: the Document Signer's signature, its path to a
  configured CSCA (and the CSCA's CRL), validity at the time of signing, every data group's hash,
  and DG1 (:mod:`idp.ekyc.dg1`) cross-checked with the Vietnamese DG13 (:mod:`idp.ekyc.dg13`);
- :mod:`idp.ekyc.active` is active authentication with the DG15 key (a clone of the data cannot
  answer a fresh challenge) and reports DG14's chip-authentication info.

Every refusal is a :class:`idp.ekyc.errors.ChipRefused` with a stable ``reason``.
"""
