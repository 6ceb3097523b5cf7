"""Passkeys (WebAuthn Level 3) held against the person, with the ``webauthn`` package.

- Registration asks for a discoverable (resident) credential and user verification; attestation is
  ``none`` unless the agency lists authenticator AAGUIDs it accepts (``IDP_WEBAUTHN_ALLOWED_AAGUIDS``):
  then ``direct`` attestation is asked and a credential of another model is refused.
- Authentication requires user verification. With a person in hand (a password was given) only
  their credentials are allowed; without one (the login page's "sign in with a passkey") any
  discoverable credential of this relying party, and the credential found names the person.
- Every challenge is single use, kept five minutes in the short-lived store under a ceremony key the
  caller chooses (the interaction, or the account page's session), and consumed before the answer is
  checked.
- The signature counter must move forward (WebAuthn §6.1.1): an assertion whose counter is not
  above the stored one, from an authenticator that counts, is refused and audited
  (``mfa.passkey.cloned``) only after its signature verified, so a forged answer cannot raise the
  alarm. The counter is written with a compare-and-swap update: two uses of one value do not both
  pass.
- ``amr`` (RFC 8176): ``hwk`` for a device-bound credential, ``swk`` for one the authenticator
  backs up (a synced passkey is a key held in software), ``user`` for the presence test and ``pin``
  for the verification (a PIN or a biometric: the authenticator does not say which), and ``mfa``:
  a verified passkey is something held and something known or inherent.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.audit.types import DENIED, MFA_PASSKEY_CLONED, MFA_PASSKEY_ENROLLED, MFA_PASSKEY_REMOVED
from idp.errors import AlreadyExists, IdpError
from idp.storage.ephemeral import EphemeralStore
from idp.storage.models import Passkey
from idp.storage.sql.factors import SqlFactorStore

CEREMONY_KIND = "passkey.ceremony"
CEREMONY_TTL = 300
TIMEOUT_MS = 120_000
MAX_CREDENTIAL_JSON = 64 * 1024
MAX_PASSKEYS = 10
REAUTH_MAX_AGE = 300


class PasskeyError(IdpError):
    """A passkey ceremony or change was refused; ``reason`` is a stable code for the audit trail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PasskeyUse:
    """A verified assertion: whose passkey, which, and the methods it shows."""

    subject_id: str
    passkey: Passkey
    amr: tuple[str, ...]


def amr_of(backed_up: bool, user_verified: bool) -> tuple[str, ...]:
    """The RFC 8176 methods an assertion shows (see the module's docstring)."""
    return ("swk" if backed_up else "hwk", "user", *(("pin", "mfa") if user_verified else ()))


class PasskeyService:
    """Registration, authentication, listing and removal of a person's passkeys."""

    def __init__(self, factors: SqlFactorStore, ephemeral: EphemeralStore, audit: AuditLog, *, issuer: str,
                 rp_name: str = "Cổng xác thực", allowed_aaguids: Collection[str] = (),
                 clock: Callable[[], float] = time.time) -> None:
        parts = urlsplit(issuer)
        self.factors, self.ephemeral, self.audit, self.clock = factors, ephemeral, audit, clock
        self.rp_id = parts.hostname or ""
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.rp_name = rp_name
        self.allowed_aaguids = frozenset(a.lower() for a in allowed_aaguids)

    # -- what a person has

    def of(self, subject_id: str) -> Sequence[Passkey]:
        return self.factors.passkeys_of(subject_id)

    def has_any(self, subject_id: str) -> bool:
        return bool(self.factors.passkeys_of(subject_id))

    # -- registration

    def registration_options(self, ceremony: str, subject_id: str, user_name: str, display_name: str) -> str:
        """The ``PublicKeyCredentialCreationOptions`` (JSON) for a new passkey of ``subject_id``; its
        challenge is kept under ``ceremony``. The person's passkeys are excluded (no second copy)."""
        challenge = secrets.token_bytes(32)
        options = generate_registration_options(
            rp_id=self.rp_id, rp_name=self.rp_name, user_id=subject_id.encode("utf-8"),
            user_name=user_name[:64] or subject_id, user_display_name=(display_name or user_name)[:64],
            challenge=challenge, timeout=TIMEOUT_MS,
            attestation=(AttestationConveyancePreference.DIRECT if self.allowed_aaguids
                         else AttestationConveyancePreference.NONE),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
                                 for p in self.of(subject_id)])
        self.ephemeral.upsert(CEREMONY_KIND, ceremony, {"challenge": bytes_to_base64url(challenge),
                                                        "subject": subject_id, "purpose": "register"}, CEREMONY_TTL)
        return options_to_json(options)

    def register(self, ceremony: str, subject_id: str, credential_json: str, name: str, *,
                 username: str | None = None, context: AuditContext | None = None) -> Passkey:
        """Check the authenticator's answer to :meth:`registration_options` and keep the passkey
        (named ``name``); audited. PasskeyError on any refusal."""
        kept = self._ceremony(ceremony, "register")
        if kept.get("subject") != subject_id:
            raise PasskeyError("wrong_person")
        if len(self.of(subject_id)) >= MAX_PASSKEYS:
            raise PasskeyError("too_many_passkeys")
        credential = _credential(credential_json)
        try:
            verified = verify_registration_response(
                credential=credential, expected_challenge=base64url_to_bytes(kept["challenge"]),
                expected_rp_id=self.rp_id, expected_origin=self.origin, require_user_verification=True)
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise PasskeyError("invalid_registration") from None
        aaguid = str(verified.aaguid).lower()
        if self.allowed_aaguids and aaguid not in self.allowed_aaguids:
            raise PasskeyError("authenticator_not_allowed")
        transports = [t for t in (credential.get("response") or {}).get("transports") or ()
                      if t in {m.value for m in AuthenticatorTransport}]
        passkey = Passkey(id=secrets.token_urlsafe(16), subject_id=subject_id,
                          credential_id=bytes_to_base64url(verified.credential_id),
                          public_key=verified.credential_public_key, sign_count=verified.sign_count, aaguid=aaguid,
                          backed_up=verified.credential_backed_up, name=_name(name), transports=tuple(transports))
        try:
            self.factors.add_passkey(passkey)
        except AlreadyExists:
            raise PasskeyError("already_registered") from None
        self.audit.record(AuditEvent(type=MFA_PASSKEY_ENROLLED, subject=subject_id, username=username,
                                     details={"passkey": passkey.id, "aaguid": aaguid},
                                     context=context or AuditContext()))
        return passkey

    # -- authentication

    def authentication_options(self, ceremony: str, subject_id: str | None) -> str:
        """The ``PublicKeyCredentialRequestOptions`` (JSON): for ``subject_id``'s passkeys, or with
        no person any discoverable credential; the challenge is kept under ``ceremony``."""
        challenge = secrets.token_bytes(32)
        allowed = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id),
                                                 transports=[AuthenticatorTransport(t) for t in p.transports])
                   for p in self.of(subject_id)] if subject_id else []
        options = generate_authentication_options(rp_id=self.rp_id, challenge=challenge, timeout=TIMEOUT_MS,
                                                  allow_credentials=allowed,
                                                  user_verification=UserVerificationRequirement.REQUIRED)
        self.ephemeral.upsert(CEREMONY_KIND, ceremony, {"challenge": bytes_to_base64url(challenge),
                                                        "subject": subject_id, "purpose": "authenticate"},
                              CEREMONY_TTL)
        return options_to_json(options)

    def authenticate(self, ceremony: str, credential_json: str, *,
                     context: AuditContext | None = None) -> PasskeyUse:
        """Check an assertion against the challenge kept under ``ceremony`` (for the person it was
        made for, if any). PasskeyError on any refusal; a counter going back is audited."""
        kept = self._ceremony(ceremony, "authenticate")
        credential = _credential(credential_json)
        raw_id = credential.get("rawId") or credential.get("id")
        passkey = self.factors.passkey_by_credential(raw_id) if isinstance(raw_id, str) and len(raw_id) < 1400 \
            else None
        if passkey is None:
            raise PasskeyError("unknown_passkey")
        if kept.get("subject") and kept["subject"] != passkey.subject_id:
            raise PasskeyError("wrong_person")
        handle = (credential.get("response") or {}).get("userHandle")
        if handle and _decoded(handle) != passkey.subject_id.encode("utf-8"):
            raise PasskeyError("wrong_person")
        try:  # the counter is compared below, after the signature is known to be the authenticator's
            verified = verify_authentication_response(
                credential=credential, expected_challenge=base64url_to_bytes(kept["challenge"]),
                expected_rp_id=self.rp_id, expected_origin=self.origin, credential_public_key=passkey.public_key,
                credential_current_sign_count=0, require_user_verification=True)
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise PasskeyError("invalid_assertion") from None
        counter = verified.new_sign_count
        if (counter or passkey.sign_count) and counter <= passkey.sign_count:
            self.audit.record(AuditEvent(type=MFA_PASSKEY_CLONED, outcome=DENIED, subject=passkey.subject_id,
                                         reason="sign_count_went_back",
                                         details={"passkey": passkey.id, "stored": passkey.sign_count,
                                                  "presented": counter},
                                         context=context or AuditContext()))
            raise PasskeyError("cloned_passkey")
        if not self.factors.record_passkey_use(passkey, counter, datetime.now(UTC)):
            raise PasskeyError("cloned_passkey")  # another use of this very counter value won the race
        return PasskeyUse(passkey.subject_id, passkey, amr_of(verified.credential_backed_up, verified.user_verified))

    # -- the person's own changes

    def rename(self, subject_id: str, passkey_id: str, name: str) -> None:
        self.factors.rename_passkey(subject_id, passkey_id, _name(name))

    def remove(self, subject_id: str, passkey_id: str, *, auth_time: int | None, username: str | None = None,
               context: AuditContext | None = None) -> None:
        """Remove one of the person's passkeys (needs a sign-in at most REAUTH_MAX_AGE seconds old); audited."""
        if auth_time is None or self.clock() - auth_time > REAUTH_MAX_AGE:
            raise PasskeyError("reauthentication_required")
        if not self.factors.remove_passkey(subject_id, passkey_id):
            raise PasskeyError("unknown_passkey")
        self.audit.record(AuditEvent(type=MFA_PASSKEY_REMOVED, subject=subject_id, username=username,
                                     details={"passkey": passkey_id}, context=context or AuditContext()))

    def _ceremony(self, ceremony: str, purpose: str) -> dict[str, Any]:
        kept = self.ephemeral.consume(CEREMONY_KIND, ceremony)
        if kept is None or kept.get("purpose") != purpose:
            raise PasskeyError("ceremony_expired")
        return kept


def _credential(text: str) -> dict[str, Any]:
    if not text or len(text) > MAX_CREDENTIAL_JSON:
        raise PasskeyError("invalid_credential")
    try:
        value = json.loads(text)
    except ValueError:
        raise PasskeyError("invalid_credential") from None
    if not isinstance(value, dict):
        raise PasskeyError("invalid_credential")
    return value


def _decoded(value: Any) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(str(value) + "=" * (-len(str(value)) % 4))
    except ValueError:
        return None


def _name(name: str) -> str:
    cleaned = " ".join(name.split())[:64]
    return cleaned or "Passkey"

