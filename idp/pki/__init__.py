"""Certificates and digital signatures: which chains are trusted per purpose (``trust``), path
validation with revocation (``validation``, ``revocation``), who a certificate names
(``subjects``), the signature verification service (``documents`` over ``cms``, ``pdf`` and
``xmldsig``, reporting with ``report``) and the reference signing tool (``signing_tool``)."""

import logging

# pyhanko, certvalidator and signxml log certificate subjects (names, personal ID numbers) while
# validating; no personal data goes to the logs: what matters is in the reports and audit events.
for _name in ("pyhanko", "pyhanko_certvalidator", "signxml"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)
