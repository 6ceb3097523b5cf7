"""TOTP second factor (RFC 6238 over RFC 4226): SHA-1, 6 digits, 30-second steps — the profile
every authenticator app supports — with these choices:

- Verification accepts the current step and one step either side (RFC 6238 §5.2 recommends at
  most one step of network delay); a code accepted once is refused afterwards (§5.2: "MUST NOT
  accept the second attempt of the same OTP"), across replicas through the short-lived store.
- The secret (160 bits, RFC 4226 §4 R6) is stored sealed (idp/mfa/sealing.py) in the holder's
  ``extra["totp"]`` (the person's local account, else their own factor row: idp/mfa/holders.py,
  so directory officials and people from an upstream enrol too), written with the store's
  compare-and-swap update; enrolment is confirmed by a first valid code before the factor counts.
- Ten recovery codes, hashed, single use (a person whose only factor is a passkey gets ten of their
  own with their first passkey: :meth:`TotpService.ensure_recovery_codes`). Replacing or removing
  the factor needs a sign-in at most ``REAUTH_MAX_AGE`` seconds old and is audited.
- A sign-in with password and TOTP reports ``amr`` ``["pwd", "otp", "mfa"]`` (RFC 8176) and acr
  ``local-mfa``.
"""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyotp
import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage

from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.errors import IdpError
from idp.mfa import recovery
from idp.mfa.holders import FactorHolders, Holder
from idp.mfa.sealing import open_secret, seal_secret
from idp.storage.ephemeral import EphemeralStore
from idp.storage.models import Account
from idp.storage.sql import SqlStorage

ACR_LOCAL_MFA = "local-mfa"
AMR_OTP = "otp"
AMR_MFA = "mfa"
STEP = 30
DIGITS = 6
WINDOW = 1
REAUTH_MAX_AGE = 300
USED_KIND = "totp.used"


#: Where a holder's recovery codes are kept: (extra key, list key): the TOTP factor's, and the
#: holder's own (issued with a first passkey when there is no TOTP factor).
RECOVERY_PLACES = (("totp", "recovery"), ("recovery", "codes"))


def _recovery_hashes(extra: dict[str, Any], place: tuple[str, str]) -> list[str]:
    section = extra.get(place[0])
    hashes = section.get(place[1]) if isinstance(section, dict) else None
    return list(hashes) if isinstance(hashes, list) else []


class TotpError(IdpError):
    """A TOTP operation was refused; ``reason`` is a stable code for the page."""

    reason = "totp_error"


class ReauthenticationRequired(TotpError):
    reason = "reauthentication_required"


class NotEnrolled(TotpError):
    reason = "not_enrolled"


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the QR code (an SVG data URI) and the secret for manual entry."""

    secret: str
    provisioning_uri: str
    qr_data_uri: str


def qr_svg_data_uri(text: str) -> str:
    """A QR code of ``text`` as an SVG ``data:`` URI, rendered on the server (no script, no CDN)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4,
                       image_factory=SvgPathImage)
    qr.add_data(text)
    qr.make(fit=True)
    svg = qr.make_image().to_string(encoding="unicode")
    data = svg.encode("utf-8") if isinstance(svg, str) else svg
    return "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")


def _totp_factor(account: Account) -> dict[str, Any] | None:
    factor = account.extra.get("totp")
    return factor if isinstance(factor, dict) else None


def totp_confirmed(account: Account) -> bool:
    """True when this (already loaded) account has a confirmed TOTP factor."""
    factor = _totp_factor(account)
    return bool(factor and factor.get("confirmed"))


class TotpService:
    """Enrolment, verification, recovery codes and removal of TOTP factors. Every ``account_id``
    is a holder id (idp/mfa/holders.py): a local account's id, or ``person:<subject id>``."""

    def __init__(self, storage: SqlStorage, ephemeral: EphemeralStore, factor_key: bytes, audit: AuditLog, *,
                 issuer_name: str = "Cổng xác thực", clock: Callable[[], float] = time.time) -> None:
        self.storage, self.ephemeral, self.key, self.audit = storage, ephemeral, factor_key, audit
        self.issuer_name, self.clock = issuer_name, clock
        self.holders = FactorHolders(storage)

    def _account(self, account_id: str) -> Holder:
        holder = self.holders.get(account_id)
        if holder is None:
            raise NotEnrolled("no such account")
        return holder

    def _factor(self, account: Holder) -> dict[str, Any] | None:
        factor = account.extra.get("totp")
        return factor if isinstance(factor, dict) else None

    def holder_id(self, subject_id: str) -> str:
        """The holder of this person's factors (see idp/mfa/holders.py)."""
        return self.holders.holder_id(subject_id)

    def _require_recent(self, auth_time: int | None) -> None:
        if auth_time is None or self.clock() - auth_time > REAUTH_MAX_AGE:
            raise ReauthenticationRequired("sign in again to change the second factor")

    def is_enrolled(self, account_id: str) -> bool:
        """True when the account has a confirmed TOTP factor (the login flow then asks for a code)."""
        factor = self._factor(self._account(account_id))
        return bool(factor and factor.get("confirmed"))

    def begin_enrolment(self, account_id: str, *, auth_time: int | None = None, label: str = "") -> Enrolment:
        """Create a new (unconfirmed) secret. Replacing a confirmed factor needs a recent sign-in.
        ``label``: the name the authenticator app shows (default: the holder's username)."""
        account = self._account(account_id)
        if (current := self._factor(account)) and current.get("confirmed"):
            self._require_recent(auth_time)
        secret = pyotp.random_base32(32)
        sealed = seal_secret(self.key, account.id, secret.encode("ascii"))

        def pending(extra: dict[str, Any]) -> dict[str, Any]:
            return {**extra, "totp_pending": {"secret": sealed, "created_at": int(self.clock())}}

        label = label or account.username or account.subject_id
        self.holders.update(account.id, pending, username=label)
        uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP).provisioning_uri(
            name=label, issuer_name=self.issuer_name)
        return Enrolment(secret=secret, provisioning_uri=uri, qr_data_uri=qr_svg_data_uri(uri))

    def confirm_enrolment(self, account_id: str, code: str, *, context: AuditContext | None = None) -> list[str]:
        """Check the first code against the pending secret; on success make it the account's
        factor and return fresh recovery codes (shown once). Raise TotpError on a wrong code."""
        account = self._account(account_id)
        pending = account.extra.get("totp_pending")
        if not isinstance(pending, dict):
            raise NotEnrolled("no enrolment in progress")
        secret = open_secret(self.key, account.id, pending["secret"]).decode("ascii")
        if not self._match(account.id, secret, code):
            raise TotpError("wrong code")
        codes = recovery.new_codes()
        factor = {"secret": pending["secret"], "confirmed": True, "enrolled_at": int(self.clock()),
                  "recovery": [recovery.hash_code(c) for c in codes]}

        def confirm(extra: dict[str, Any]) -> dict[str, Any]:
            return {**{k: v for k, v in extra.items() if k != "totp_pending"}, "totp": factor}

        with self.storage.db.transaction():
            self.holders.update(account.id, confirm)
            self.audit.record(AuditEvent(type="mfa.totp.enrolled", subject=account.subject_id,
                                         username=account.username, context=context or AuditContext()))
        return codes

    def verify(self, account_id: str, code: str) -> bool:
        """True when ``code`` is valid now (±1 step) and was not used before. Count a False as
        a failed attempt in the Throttle (the username's)."""
        factor = self._factor(self._account(account_id))
        if not factor or not factor.get("confirmed"):
            return False
        secret = open_secret(self.key, account_id, factor["secret"]).decode("ascii")
        return self._match(account_id, secret, code)

    def _match(self, account_id: str, secret: str, code: str) -> bool:
        code = code.strip().replace(" ", "")
        if len(code) != DIGITS or not code.isdigit():
            return False
        totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP)
        now_step = int(self.clock()) // STEP
        matched = None
        for step in range(now_step - WINDOW, now_step + WINDOW + 1):
            if hmac.compare_digest(totp.at(step * STEP), code):
                matched = step
        if matched is None:
            return False
        return self.ephemeral.add_once(USED_KIND, f"{account_id}:{matched}", STEP * (2 * WINDOW + 2))

    def has_recovery_codes(self, account_id: str) -> bool:
        """Whether the holder has unused recovery codes (of their TOTP factor, or their own)."""
        extra = self._account(account_id).extra
        return any(_recovery_hashes(extra, place) for place in RECOVERY_PLACES)

    def ensure_recovery_codes(self, account_id: str) -> list[str] | None:
        """Recovery codes for a holder who has none yet (a person whose only factor is a passkey):
        the new codes (shown once), or None when they have some already."""
        if self.has_recovery_codes(account_id):
            return None
        codes = recovery.new_codes()
        hashes = [recovery.hash_code(c) for c in codes]
        made: list[bool] = []

        def issue(extra: dict[str, Any]) -> dict[str, Any]:
            made[:] = [not any(_recovery_hashes(extra, place) for place in RECOVERY_PLACES)]
            if not made[0]:
                return extra
            return {**extra, "recovery": {"codes": hashes, "created_at": int(self.clock())}}

        holder = self._account(account_id)
        self.holders.update(account_id, issue, username=holder.username)
        return codes if made and made[0] else None

    def use_recovery_code(self, account_id: str, code: str, *, context: AuditContext | None = None) -> bool:
        """Accept a recovery code once (it is removed in the same compare-and-swap update), from
        the TOTP factor's codes or the holder's own (issued with a first passkey)."""
        account = self._account(account_id)
        if not any(recovery.find_code(_recovery_hashes(account.extra, place), code) is not None
                   for place in RECOVERY_PLACES):
            return False
        used: list[bool] = []

        def consume(extra: dict[str, Any]) -> dict[str, Any]:
            used[:] = [False]
            for place, key in RECOVERY_PLACES:
                current = dict(extra.get(place) or {})
                hashes = list(current.get(key, []))
                index = recovery.find_code(hashes, code)
                if index is not None:
                    del hashes[index]
                    used[:] = [True]
                    return {**extra, place: {**current, key: hashes}}
            return extra

        with self.storage.db.transaction():
            self.holders.update(account.id, consume)
            if used and used[0]:
                self.audit.record(AuditEvent(type="mfa.recovery_code.used", subject=account.subject_id,
                                             username=account.username, context=context or AuditContext()))
        return bool(used and used[0])

    def remove(self, account_id: str, *, auth_time: int | None, context: AuditContext | None = None) -> None:
        """Remove the factor (needs a sign-in at most REAUTH_MAX_AGE seconds old); audited."""
        self._require_recent(auth_time)
        account = self._account(account_id)

        def drop(extra: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in extra.items() if k not in ("totp", "totp_pending")}

        with self.storage.db.transaction():
            self.holders.update(account.id, drop)
            self.audit.record(AuditEvent(type="mfa.totp.removed", subject=account.subject_id,
                                         username=account.username, context=context or AuditContext()))
