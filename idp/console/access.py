"""Who may use the security console and the audit API from a browser session.

A staff member qualifies when all of these hold for the SSO session:

- the session's sign-in (the policy engine's ``login`` state) was made with a ``local`` adapter;
- that sign-in used two factors (RFC 8176 ``amr`` shows ``mfa`` or two factor categories);
- the local account of the session's subject exists, is enabled and holds the ``auditor`` role
  (``Account.extra["roles"]``, granted with ``idp users grant-role USERNAME auditor``).

The role is read from the account on every request, so taking it back takes effect at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from idp.accounts.service import account_roles
from idp.oidc.provider import Provider
from idp.sessions import SsoSession
from policies.amr import is_multi_factor
from policies.session import session_from_json

AUDITOR_ROLE = "auditor"


class Refusal(Enum):
    """Why a session may not open the console (each has its own message on the 403 page)."""

    SIGN_IN = "sign_in"            # nobody is signed in: start the console's sign-in
    NOT_LOCAL = "not_local"        # signed in, but not with a local staff account
    NOT_AUDITOR = "not_auditor"    # the account lacks the auditor role (or is disabled)
    NEEDS_MFA = "needs_mfa"        # one factor only; the account has a second one to add
    NO_SECOND_FACTOR = "no_second_factor"  # one factor only and none enrolled


@dataclass(frozen=True)
class Auditor:
    """The staff member using the console."""

    subject_id: str
    username: str
    account_id: str


def check_auditor(provider: Provider, session: SsoSession | None) -> Auditor | Refusal:
    """The auditor of this session, or why the console is refused."""
    return check_staff(provider, session, AUDITOR_ROLE)


def check_staff(provider: Provider, session: SsoSession | None, role: str) -> Auditor | Refusal:
    """The staff member of this session holding ``role`` (signed in with a local account and two
    factors), or why not (:data:`Refusal.NOT_AUDITOR` for a missing role)."""
    if session is None:
        return Refusal.SIGN_IN
    account = provider.storage.accounts.get_by_subject(session.subject_id)
    local_ids = {e.id for e in provider.adapters.entries if e.type == "local"}
    login = session_from_json(session.policy).login if session.policy else None
    if account is None or login is None or login.adapter_id not in local_ids:
        return Refusal.NOT_LOCAL
    if role not in account_roles(account):
        return Refusal.NOT_AUDITOR
    if not is_multi_factor(login.amr):
        enrolled = provider.totp is not None and provider.totp.is_enrolled(account.id)
        return Refusal.NEEDS_MFA if enrolled else Refusal.NO_SECOND_FACTOR
    return Auditor(subject_id=session.subject_id, username=account.username, account_id=account.id)
