"""Where private keys live: the protocol both key backends (software, PKCS#11) implement."""

from __future__ import annotations

from typing import Protocol

from idp.storage.models import SigningKeyRecord
from keys.signer import Signer


class KeyBackend(Protocol):
    name: str

    def generate(self, alg: str) -> tuple[Signer, SigningKeyRecord]:
        """Create a new private key for ``alg``; return its signer and the record to store
        (``state="next"``; the caller decides the state and stores it)."""
        ...

    def load(self, record: SigningKeyRecord) -> Signer:
        """The signer of a stored key of this backend; KeyConfigError when it cannot be opened."""
        ...

    def check(self, record: SigningKeyRecord) -> None:
        """Raise KeyConfigError when this backend cannot open the stored key (wrong KEK, key
        missing from the token). Cheap enough to run for every key at start-up."""
        ...
