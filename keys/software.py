"""Software signing keys: generated with ``cryptography``, stored sealed under the KEK."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from idp.storage.models import SigningKeyRecord
from keys import algorithms, kek
from keys.algorithms import PrivateKey
from keys.jwk import public_jwk, public_members, thumbprint

BACKEND = "software"


class SoftwareSigner:
    """A :class:`keys.signer.Signer` over a private key held in process memory."""

    def __init__(self, private_key: PrivateKey, alg: str, kid: str | None = None) -> None:
        algorithms.require_supported(alg)
        if not algorithms.key_fits_algorithm(private_key, alg):
            raise ValueError(f"key does not fit algorithm {alg}")
        self._private_key = private_key
        self.alg = alg
        self.kid = kid or thumbprint(public_members(private_key.public_key()))
        self._jwk = public_jwk(private_key.public_key(), kid=self.kid, alg=alg)

    def public_jwk(self) -> dict[str, str]:
        return dict(self._jwk)

    def sign(self, signing_input: bytes) -> bytes:
        return algorithms.sign(self._private_key, self.alg, signing_input)

    def __repr__(self) -> str:
        return f"SoftwareSigner(kid={self.kid!r}, alg={self.alg!r})"


def generate(alg: str) -> SoftwareSigner:
    """A fresh software key; its kid is the RFC 7638 thumbprint."""
    return SoftwareSigner(algorithms.generate_private_key(alg), alg)


def private_key_der(signer: SoftwareSigner) -> bytes:
    return signer._private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class SoftwareKeyBackend:
    """Generates software keys and opens stored ones with one KEK."""

    name = BACKEND

    def __init__(self, key_encryption_key: bytes) -> None:
        self._kek = key_encryption_key

    def generate(self, alg: str) -> tuple[SoftwareSigner, SigningKeyRecord]:
        """A new key and the record to store (state left for the caller to set)."""
        signer = generate(alg)
        record = SigningKeyRecord(
            kid=signer.kid,
            alg=alg,
            backend=BACKEND,
            state="next",
            public_jwk=signer.public_jwk(),
            private_key_enc=kek.seal(self._kek, signer.kid, private_key_der(signer)),
        )
        return signer, record

    def check(self, record: SigningKeyRecord) -> None:
        """Raise KeyConfigError when the record does not open with this KEK."""
        kek.unseal(self._kek, record.kid, record.private_key_enc or b"")

    def load(self, record: SigningKeyRecord) -> SoftwareSigner:
        """The signer of a stored software key."""
        der = kek.unseal(self._kek, record.kid, record.private_key_enc or b"")
        private_key = serialization.load_der_private_key(der, password=None)
        return SoftwareSigner(private_key, record.alg, record.kid)  # type: ignore[arg-type]
