"""The one refusal of a chip read, with a stable reason code for the audit trail and the reader."""

from __future__ import annotations

from idp.errors import IdpError


class ChipRefused(IdpError):
    """The chip data is not accepted. ``reason`` is a stable code (``sod_malformed``,
    ``dg_hash_mismatch``, ``signer_untrusted``, ...); the message says what, never echoing
    personal data."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason
        self.detail = message or reason
