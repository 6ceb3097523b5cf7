"""Subject identifiers (OIDC Core §8): pairwise by default, public only for clients set so.

Pairwise: ``base64url(HMAC-SHA256(salt, sector || 0x00 || subject_id))``, where the sector is the
client's ``sector_identifier`` (so several clients of one organisation share identifiers) or else
the client id. The internal subject id (and the personal ID number) never leave as ``sub``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

from idp.storage.models import Client


class SubjectIdentifiers:
    """``is_public(client)`` says whether the client's policy (or registration) asks for public ``sub``."""

    def __init__(self, salt: bytes, is_public: Callable[[Client], bool] | None = None) -> None:
        self._salt = salt
        self._is_public = is_public or (lambda client: client.extra.get("subject_type") == "public")

    def sector_of(self, client: Client) -> str:
        return str(client.extra.get("sector_identifier") or client.client_id)

    def for_client(self, subject_id: str, client: Client) -> str:
        """The ``sub`` this client sees for the subject."""
        if self._is_public(client):
            return subject_id
        mac = hmac.new(self._salt, self.sector_of(client).encode() + b"\x00" + subject_id.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
