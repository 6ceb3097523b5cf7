"""The names of audit event types (dotted lowercase) and outcomes.

Every part of the provider records events with these constants, so a search by type, an export
filter or a SIEM rule never has to guess a spelling.
"""

from __future__ import annotations

SIGNIN = "signin"
SIGNIN_MFA = "signin.mfa"
STEPUP = "stepup"
LOGOUT = "logout"
CODE_ISSUED = "code.issued"
TOKEN_ISSUED = "token.issued"
TOKEN_REFRESHED = "token.refreshed"
TOKEN_REVOKED = "token.revoked"
TOKEN_REUSE_DETECTED = "token.reuse_detected"
CONSENT_GRANTED = "consent.granted"
CONSENT_WITHDRAWN = "consent.withdrawn"
CLIENT_CREATED = "client.created"
CLIENT_CHANGED = "client.changed"
CLIENT_REMOVED = "client.removed"
ACCOUNT_CREATED = "account.created"
ACCOUNT_CHANGED = "account.changed"
ACCOUNT_LOCKED = "account.locked"
KEY_GENERATED = "key.generated"
KEY_ROTATED = "key.rotated"
KEY_RETIRED = "key.retired"
ADMIN_ACTION = "admin.action"
ADAPTER_ERROR = "adapter.error"
CONSENT_DENIED = "consent.denied"
ACCOUNT_UNLOCKED = "account.unlocked"
ADDRESS_THROTTLED = "address.throttled"
IDENTITY_LINKED = "identity.linked"
IDENTITY_CONFLICT = "identity.conflict"
IDENTITY_CHANGED = "identity.changed"
MFA_TOTP_ENROLLED = "mfa.totp.enrolled"
MFA_TOTP_REMOVED = "mfa.totp.removed"
MFA_RECOVERY_CODE_USED = "mfa.recovery_code.used"
MFA_PASSKEY_ENROLLED = "mfa.passkey.enrolled"
MFA_PASSKEY_REMOVED = "mfa.passkey.removed"
# a passkey whose signature counter went back: a copy of the credential is in use somewhere
MFA_PASSKEY_CLONED = "mfa.passkey.cloned"
LOGOUT_BACKCHANNEL = "logout.backchannel"
PAR_PUSHED = "par.pushed"
PAR_REUSED = "par.reused"
CLIENT_ASSERTION_REPLAYED = "client.assertion_replayed"
# a signed document went through the verification service (its hash, never the document)
SIGNATURE_VERIFIED = "signature.verified"
# a person downloaded, or had erased, what the provider holds about them (idp.oidc.personal_data)
PERSONAL_DATA_EXPORTED = "personal_data.exported"
PERSONAL_DATA_ERASED = "personal_data.erased"
# a reader posted a chip ID card (idp/ekyc/service.py: verified, or the refusal's reason; no personal data)
EKYC_CHIP = "ekyc.chip"
# an official made a signed statement of a card read at the counter (idp/ekyc/counter.py)
EKYC_COUNTER = "ekyc.counter"

EVENT_TYPES: tuple[str, ...] = (
    SIGNIN, SIGNIN_MFA, STEPUP, LOGOUT, CODE_ISSUED, TOKEN_ISSUED, TOKEN_REFRESHED, TOKEN_REVOKED,
    TOKEN_REUSE_DETECTED, CONSENT_GRANTED, CONSENT_WITHDRAWN, CLIENT_CREATED, CLIENT_CHANGED,
    CLIENT_REMOVED, ACCOUNT_CREATED, ACCOUNT_CHANGED, ACCOUNT_LOCKED, KEY_GENERATED, KEY_ROTATED,
    KEY_RETIRED, ADMIN_ACTION, ADAPTER_ERROR, CONSENT_DENIED, ACCOUNT_UNLOCKED, ADDRESS_THROTTLED, IDENTITY_LINKED,
    IDENTITY_CONFLICT, IDENTITY_CHANGED, MFA_TOTP_ENROLLED, MFA_TOTP_REMOVED, MFA_RECOVERY_CODE_USED,
    LOGOUT_BACKCHANNEL, PAR_PUSHED, PAR_REUSED, CLIENT_ASSERTION_REPLAYED, MFA_PASSKEY_ENROLLED,
    MFA_PASSKEY_REMOVED, MFA_PASSKEY_CLONED, SIGNATURE_VERIFIED, PERSONAL_DATA_EXPORTED, PERSONAL_DATA_ERASED,
    EKYC_CHIP, EKYC_COUNTER,
)

SUCCESS = "success"
FAILURE = "failure"
DENIED = "denied"
OUTCOMES: tuple[str, ...] = (SUCCESS, FAILURE, DENIED)

# ``details["action"]`` of the admin.action event that ``idp audit prune`` records.
PRUNE_ACTION = "audit.prune"
