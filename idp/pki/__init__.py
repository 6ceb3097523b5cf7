"""Certificates and digital signatures: which chains are trusted per purpose (``trust``), path
validation with revocation (``validation``, ``revocation``) and the signature verification service
(``signatures``)."""
