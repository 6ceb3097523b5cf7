"""The claims the provider holds about a person, for release to relying parties.

A subject's stored claims never include the personal ID number (linking.py keeps it only
encrypted); :func:`person_claims` adds ``vn_personal_id`` back, decrypted, for the code that
releases claims — which must still release it only under the restricted ``vn_id`` scope.
"""

from __future__ import annotations

from typing import Any

from idp.ekyc.assurance import with_document_number
from idp.identity.protection import decrypt_personal_id
from idp.storage.models import Subject


def person_claims(subject: Subject, enc_key: bytes) -> dict[str, Any]:
    """The subject's claims plus ``vn_personal_id`` when the subject has one."""
    claims = dict(subject.claims)
    if subject.personal_id_enc:
        claims["vn_personal_id"] = decrypt_personal_id(subject.personal_id_enc, enc_key)
    # a chip verification's verified_claims is stored without the card's number (the same number)
    return with_document_number(claims, claims.get("vn_personal_id"))
