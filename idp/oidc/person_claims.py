"""A person's claims as the token side reads them: decoded once per request."""

from __future__ import annotations

from typing import Any

from idp.identity.claims import person_claims as decoded_claims
from idp.identity.protection import IdentityKeys
from idp.oidc.userinfo import subject_claims
from idp.storage.models import Subject
from idp.storage.sql import SqlStorage
from idp.web import request_scope


class PersonClaims:
    def __init__(self, storage: SqlStorage, keys: IdentityKeys) -> None:
        self._storage = storage
        self._keys = keys

    def __call__(self, subject_id: str, subject: Subject | None = None) -> dict[str, Any]:
        """The subject's claims; inside ``request_scope.one_request()`` read once (a token response
        needs them for the access token's userinfo snapshot and again for the ID token). ``subject``
        is the row when the caller read it already (a rotation reads it with its token): decoded,
        not read."""
        memo = request_scope.memo()
        if subject is None and memo is not None and subject_id in memo:
            memoized: dict[str, Any] = memo[subject_id]
            return memoized
        key = self._keys.enc_key
        claims = decoded_claims(subject, key) if subject is not None else subject_claims(self._storage, subject_id, key)
        if memo is not None:
            memo[subject_id] = claims
        return claims
