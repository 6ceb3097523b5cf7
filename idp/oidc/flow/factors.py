"""The first and second factor of a sign-in: a password's identity kept aside while the person
gives their second factor (``mfa_pending``, single use, five minutes), and whether one is due.

Second factors belong to the person, whatever source they sign in with (idp/mfa/holders.py): a
local account's, a directory official's or an upstream person's TOTP authenticator and passkeys are
asked for after their first factor. The pending record names the person (``subject_id``), where
their factors are held (``account_id``: a holder id) and the name failed attempts count under
(``lockout``: the first factor's, so a person's password and second factors share one counter)."""

from __future__ import annotations

from typing import Any

from adapters.base import Identity
from idp.mfa.passkeys import PasskeyService
from idp.mfa.totp import TotpService
from idp.oidc.signin import LOCAL_ADAPTER_TYPES, SignIns
from idp.sessions import SsoSession
from policies.session import session_from_json

MFA_KIND = "mfa_pending"
MFA_TTL = 300


def second_factor_holder(totp: TotpService, passkeys: PasskeyService | None, signins: SignIns, identity: Identity,
                         adapter_type: str) -> tuple[str, str] | None:
    """``(holder id, subject id)`` when the person who just gave their first factor holds a second
    one (TOTP or a passkey), else None. A local account's TOTP and passkeys are read from the
    adapter's reading of the row it just checked (``totp_enrolled``, ``passkey_enrolled``: the
    lookup by username reads whether a passkey exists); anyone else's person is looked up without writing
    (someone never seen holds none): the sign-in links them, once."""
    if adapter_type in LOCAL_ADAPTER_TYPES:
        account_id = identity.evidence.get("account_id")
        if not account_id:
            return None
        enrolled = identity.evidence.get("totp_enrolled")
        if enrolled if isinstance(enrolled, bool) else totp.is_enrolled(account_id):
            return str(account_id), identity.subject
        holds_passkey = identity.evidence.get("passkey_enrolled")
        if passkeys is None or not (holds_passkey if isinstance(holds_passkey, bool)
                                    else passkeys.has_any(identity.subject)):
            return None
        return str(account_id), identity.subject
    subject_id = signins.known_subject(identity, adapter_type)
    if subject_id is None:
        return None
    holder = totp.holder_id(subject_id)
    if totp.is_enrolled(holder) or (passkeys is not None and passkeys.has_any(subject_id)):
        return holder, subject_id
    return None


def session_identity(session: SsoSession, issuer: str, holder_id: str) -> Identity:
    """The identity of a signed-in session, for a second factor added to it (taken as ``local``:
    the subject is the session's, nothing is linked again; the level and roles its sign-in reached
    stay: a second factor after VNeID level 2 does not fall back to a local level)."""
    login = session_from_json(session.policy).login if session.policy else None
    return Identity(subject=session.subject_id, adapter_id=session.adapter or "local", issuer=issuer,
                    auth_time=session.auth_time, acr=login.level.token if login is not None else None,
                    amr=session.amr, evidence={"account_id": holder_id},
                    roles=login.roles if login is not None else ())


def pending_record(identity: Identity, adapter_type: str, username: str, account_id: str, *,
                   subject_id: str | None = None, lockout: str | None = None) -> dict[str, Any]:
    """What is kept under :data:`MFA_KIND` until the second factor: the identity of the first."""
    return {"identity": {"subject": identity.subject, "adapter_id": identity.adapter_id, "issuer": identity.issuer,
                         "auth_time": identity.auth_time, "acr": identity.acr, "amr": list(identity.amr),
                         "claims": dict(identity.claims), "evidence": dict(identity.evidence),
                         "roles": list(identity.roles)},
            "adapter_type": adapter_type, "username": username, "account_id": account_id,
            "subject_id": subject_id or identity.subject, "lockout": lockout or username}


def identity_from_record(record: dict[str, Any]) -> Identity:
    return Identity(**{**record, "amr": tuple(record["amr"]), "roles": tuple(record["roles"])})
