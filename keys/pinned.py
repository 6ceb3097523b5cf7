"""Public keys as the key store itself vouches for them (not as the database says).

Anyone who can write to the database can add a row to ``signing_keys`` or change a row's
``public_jwk``; nobody can do either in the key store without its secrets. So a key is *pinned*
by the key store when its private key opens there and the public key is derived from that private
key:

- software keys: the sealed private key opens under the KEK (AES-GCM with the ``kid`` as
  associated data, so a blob copied to another row does not open) and the JWK is derived from it;
- PKCS#11 keys: the token holds a key pair under the row's label whose thumbprint is the ``kid``.

Nothing here generates a key or writes a file (unlike :func:`keys.ring.open_key_ring`): a missing
KEK or an unreachable HSM just leaves those keys unpinned, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from idp.settings import Settings
from idp.storage.models import SigningKeyRecord
from keys import kek
from keys.backend import KeyBackend
from keys.errors import KeyConfigError
from keys.software import BACKEND as SOFTWARE
from keys.software import SoftwareKeyBackend

PKCS11 = "pkcs11"


@dataclass(frozen=True)
class KeyStoreView:
    """What the key store says about the database's keys: ``pinned`` (record, public JWK derived
    from the key store) and ``unpinned`` (kid -> why the key store does not vouch for it)."""

    pinned: list[tuple[SigningKeyRecord, dict[str, Any]]]
    unpinned: dict[str, str]


def keystore_view(settings: Settings, records: Iterable[SigningKeyRecord]) -> KeyStoreView:
    """Open every record in its backend; never raises for a key that does not open."""
    backends: dict[str, KeyBackend | str] = {}
    pinned: list[tuple[SigningKeyRecord, dict[str, Any]]] = []
    unpinned: dict[str, str] = {}
    for record in records:
        if record.backend not in backends:
            backends[record.backend] = _open_backend(settings, record.backend)
        backend = backends[record.backend]
        if isinstance(backend, str):
            unpinned[record.kid] = backend
            continue
        try:
            signer = backend.load(record)
        except (KeyConfigError, ValueError, TypeError):
            unpinned[record.kid] = f"it does not open in the {record.backend} key store"
            continue
        pinned.append((record, signer.public_jwk()))
    return KeyStoreView(pinned, unpinned)


def _open_backend(settings: Settings, name: str) -> KeyBackend | str:
    """The backend, or why it cannot be opened here (a reason, never a secret)."""
    try:
        if name == SOFTWARE:
            # sealed_keys_exist=True: never create a KEK file here; a missing KEK is an error.
            return SoftwareKeyBackend(kek.load_kek(settings, sealed_keys_exist=True))
        if name == PKCS11 and settings.pkcs11_module is not None:
            from keys.hsm import Pkcs11KeyBackend

            return Pkcs11KeyBackend.from_settings(settings)
    except KeyConfigError:
        return f"the {name} key store cannot be opened here (its KEK or HSM settings)"
    return f"no {str(name)[:32]!r} key store is configured here"
