"""Opening the key backends a deployment needs: the configured one, plus any backend that still
holds published keys (e.g. software keys after switching to an HSM, until they are rotated out)."""

from __future__ import annotations

from collections.abc import Sequence

from idp.settings import Settings
from idp.storage.models import SigningKeyRecord
from keys import kek
from keys.backend import KeyBackend
from keys.errors import KeyConfigError
from keys.schedule import WITHDRAWN
from keys.software import BACKEND as SOFTWARE
from keys.software import SoftwareKeyBackend

PKCS11 = "pkcs11"


def open_backends(settings: Settings, records: Sequence[SigningKeyRecord]) -> dict[str, KeyBackend]:
    """Backends by name; KeyConfigError when the configured one cannot be opened."""
    in_use = {r.backend for r in records if r.state != WITHDRAWN}
    backends: dict[str, KeyBackend] = {}
    if settings.key_backend == SOFTWARE or SOFTWARE in in_use:
        sealed = any(r.backend == SOFTWARE and r.private_key_enc for r in records)
        backends[SOFTWARE] = SoftwareKeyBackend(kek.load_kek(settings, sealed_keys_exist=sealed))
    if settings.key_backend == PKCS11 or (PKCS11 in in_use and settings.pkcs11_module is not None):
        from keys.hsm import Pkcs11KeyBackend

        backends[PKCS11] = Pkcs11KeyBackend.from_settings(settings)
    if settings.key_backend not in backends:  # pragma: no cover - settings validation prevents it
        raise KeyConfigError(f"unknown key backend {settings.key_backend!r}")
    return backends
