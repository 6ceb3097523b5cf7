"""Errors of the signing-key layer.

Messages are for operators (start-up, the ``idp keys`` command) and name the setting to fix,
Vietnamese first; they never carry a key, a PIN or a stack trace.
"""

from __future__ import annotations

from idp.errors import IdpError


class KeysError(IdpError):
    """Base of every error raised on purpose by ``keys``."""


class KeyConfigError(KeysError):
    """The key store cannot be opened as configured (wrong or missing key-encryption key, HSM
    module, token or PIN). Start-up stops with this one message; no key is ever generated over
    keys that cannot be read."""


class NoSigningKey(KeysError, LookupError):
    """No current key for the requested algorithm."""

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0]) if self.args else "no signing key"


class InvalidToken(KeysError):
    """A JWS/JWT was refused: malformed, oversized, a header we never emit, an unknown key, a
    wrong algorithm or a bad signature. ``reason`` is a stable code for logs and tests."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or reason)
        self.reason = reason


class RotationRefused(KeysError):
    """A rotation or retirement would break relying parties (e.g. the next key has not been
    published long enough for JWKS caches to have seen it)."""
