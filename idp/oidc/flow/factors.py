"""The first and second factor of a sign-in: a password's identity kept aside while the person
gives their TOTP code (``mfa_pending``, single use, five minutes), and whether that code is due."""

from __future__ import annotations

from typing import Any

from adapters.base import Identity
from idp.mfa.totp import TotpService

MFA_KIND = "mfa_pending"
MFA_TTL = 300


def second_factor_due(totp: TotpService, identity: Identity) -> bool:
    """Whether a local account's sign-in needs its TOTP code: from the adapter's reading of the row
    it just checked (``totp_enrolled``), else read now."""
    account_id = identity.evidence.get("account_id")
    if not account_id:
        return False
    enrolled = identity.evidence.get("totp_enrolled")
    return enrolled if isinstance(enrolled, bool) else totp.is_enrolled(account_id)


def pending_record(identity: Identity, adapter_type: str, username: str, account_id: str) -> dict[str, Any]:
    """What is kept under :data:`MFA_KIND` until the second factor: the identity of the first."""
    return {"identity": {"subject": identity.subject, "adapter_id": identity.adapter_id, "issuer": identity.issuer,
                         "auth_time": identity.auth_time, "acr": identity.acr, "amr": list(identity.amr),
                         "claims": dict(identity.claims), "evidence": dict(identity.evidence),
                         "roles": list(identity.roles)},
            "adapter_type": adapter_type, "username": username, "account_id": account_id}


def identity_from_record(record: dict[str, Any]) -> Identity:
    return Identity(**{**record, "amr": tuple(record["amr"]), "roles": tuple(record["roles"])})
