"""What a directory says about an account that may not sign in, as stable reason codes.

- Active Directory: the ``data`` code in a failed bind's diagnostic message (52e wrong password,
  532 password expired, 533 disabled, 701 account expired, 773 must change password, 775
  locked) and, after a successful bind, ``userAccountControl`` (0x2 disabled, 0x800000 password
  expired), ``msDS-User-Account-Control-Computed`` (0x10 locked), ``lockoutTime`` and
  ``pwdLastSet = 0`` (must change).
- OpenLDAP: the password-policy response control (draft-behera-ldap-password-policy §6.2:
  passwordExpired 0, accountLocked 1, changeAfterReset 2) and ``pwdAccountLockedTime``
  (``000001010000Z`` means locked by an administrator: disabled).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence

PPOLICY_OID = "1.3.6.1.4.1.42.2.27.8.5.1"
AD_STATE_ATTRIBUTES = ("userAccountControl", "msDS-User-Account-Control-Computed", "lockoutTime", "pwdLastSet",
                       "accountExpires")
OPENLDAP_STATE_ATTRIBUTES = ("pwdAccountLockedTime",)
ADMIN_LOCK = "000001010000Z"

_AD_BIND_CODES = {
    "532": "password_expired",
    "533": "account_disabled",
    "701": "account_expired",
    "773": "password_expired",
    "775": "account_locked",
    "530": "account_restricted",
    "531": "account_restricted",
}
_PPOLICY_ERRORS = {0: "password_expired", 1: "account_locked", 2: "password_expired"}
_FILETIME_EPOCH_OFFSET = 116444736000000000  # 100-ns intervals between 1601-01-01 and 1970-01-01


def ad_bind_failure_reason(diagnostic: str | None) -> str | None:
    """The reason in an AD bind failure (``... data 533, ...``), or None for a wrong password."""
    match = re.search(r"\bdata ([0-9a-f]{3})\b", diagnostic or "", re.IGNORECASE)
    return _AD_BIND_CODES.get(match.group(1).lower()) if match else None


def ppolicy_error(value: bytes | None) -> int | None:
    """The ``error`` of a PasswordPolicyResponseValue (BER), or None."""
    if not value or len(value) < 2 or value[0] != 0x30:
        return None
    body, index = _tlv_body(value, 0)
    position = 0
    while body is not None and position < len(body):
        tag = body[position]
        content, next_position = _tlv_body(body, position)
        if content is None:
            return None
        if tag == 0x81 and content:
            return content[-1]
        position = next_position
    return None


def _tlv_body(data: bytes, start: int) -> tuple[bytes | None, int]:
    if start + 2 > len(data):
        return None, len(data)
    length, header = data[start + 1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 3 or start + 2 + count > len(data):
            return None, len(data)
        length = int.from_bytes(data[start + 2:start + 2 + count], "big")
        header += count
    end = start + header + length
    return (data[start + header:end], end) if end <= len(data) else (None, len(data))


def ppolicy_failure_reason(value: bytes | None, locked_time: str | None) -> str | None:
    error = ppolicy_error(value)
    if error == 1 and locked_time == ADMIN_LOCK:
        return "account_disabled"
    return _PPOLICY_ERRORS.get(error) if error is not None else None


def _int(values: Mapping[str, Sequence[str]], name: str) -> int | None:
    found = values.get(name.lower())
    try:
        return int(found[0]) if found else None
    except ValueError:
        return None


def ad_state_reason(values: Mapping[str, Sequence[str]], now: float | None = None) -> str | None:
    """Why an AD account (attributes by lower-case name) may not sign in, or None."""
    uac = _int(values, "userAccountControl") or 0
    computed = _int(values, "msDS-User-Account-Control-Computed") or 0
    if uac & 0x2:
        return "account_disabled"
    if computed & 0x10 or (_int(values, "lockoutTime") or 0) > 0:
        return "account_locked"
    expires = _int(values, "accountExpires")
    now_filetime = int((time.time() if now is None else now) * 10_000_000) + _FILETIME_EPOCH_OFFSET
    if expires not in (None, 0, 0x7FFFFFFFFFFFFFFF) and expires < now_filetime:
        return "account_expired"
    if (uac | computed) & 0x800000 or _int(values, "pwdLastSet") == 0:
        return "password_expired"
    return None


def openldap_state_reason(values: Mapping[str, Sequence[str]]) -> str | None:
    locked = values.get("pwdaccountlockedtime")
    if locked:
        return "account_disabled" if locked[0] == ADMIN_LOCK else "account_locked"
    return None
