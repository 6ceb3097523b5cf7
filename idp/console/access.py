"""Who may use the security console and the audit API from a browser session.

A staff member qualifies when all of these hold for the SSO session:

- the session's sign-in (the policy engine's ``login`` state) was made with a staff source: a
  ``local`` account, or a directory (an adapter that checks passwords and can describe an account
  again, e.g. LDAP/AD);
- that sign-in used two factors (RFC 8176 ``amr`` shows ``mfa`` or two factor categories), the
  second at most :data:`FRESH_SECONDS` ago for the console (older: it is asked for again);
- the person holds the role: a local account (enabled) with it in ``Account.extra["roles"]``
  (``idp users grant-role USERNAME auditor``), read on every request so taking it back takes effect
  at once; or the directory that signed them in maps one of their groups to it (``roles`` of the
  adapter; the ``vn_roles`` that source owns, as of that sign-in, so at most FRESH_SECONDS old).

No separate local account is needed: an official signs in with their directory account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

from adapters.base import AccountLookup
from idp.accounts.service import account_roles
from idp.identity.sources import ROLES_CLAIM
from idp.oidc.provider import Provider
from idp.sessions import SsoSession
from policies.amr import is_multi_factor
from policies.session import session_from_json

AUDITOR_ROLE = "auditor"
#: How old the console accepts a session's second factor to be (seconds); older: asked again.
FRESH_SECONDS = 900


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


def check_auditor(provider: Provider, session: SsoSession | None, *, now: float | None = None
                  ) -> Auditor | Refusal:
    """The auditor of this session, or why the console is refused (a second factor older than
    :data:`FRESH_SECONDS` is asked for again: :data:`Refusal.NEEDS_MFA`)."""
    verdict = check_staff(provider, session, AUDITOR_ROLE)
    login = session_from_json(session.policy).login if session is not None and session.policy else None
    if isinstance(verdict, Auditor) and (login is None or (time.time() if now is None else now) - login.at
                                         > FRESH_SECONDS):
        return Refusal.NEEDS_MFA
    return verdict


def check_staff(provider: Provider, session: SsoSession | None, role: str) -> Auditor | Refusal:
    """The staff member of this session holding ``role`` (signed in with a staff source and two
    factors), or why not (:data:`Refusal.NOT_AUDITOR` for a missing role)."""
    if session is None:
        return Refusal.SIGN_IN
    login = session_from_json(session.policy).login if session.policy else None
    entry = next((e for e in provider.adapters.entries if login is not None and e.id == login.adapter_id), None)
    if login is None or entry is None:
        return Refusal.NOT_LOCAL
    if entry.type == "local":
        account = provider.storage.accounts.get_by_subject(session.subject_id)
        if account is None:
            return Refusal.NOT_LOCAL
        roles, username = account_roles(account), account.username
    elif "password" in entry.capabilities and isinstance(entry.adapter, AccountLookup):
        roles, username = directory_roles(provider, session.subject_id, entry.id), session.username or ""
    else:  # an upstream (VNeID, the national portal): citizens, not staff
        return Refusal.NOT_LOCAL
    if role not in roles:
        return Refusal.NOT_AUDITOR
    holder = provider.totp.holder_id(session.subject_id)
    if not is_multi_factor(login.amr):
        passkeys = provider.flow.passkeys
        enrolled = provider.totp.is_enrolled(holder) or (passkeys is not None
                                                         and passkeys.has_any(session.subject_id))
        return Refusal.NEEDS_MFA if enrolled else Refusal.NO_SECOND_FACTOR
    return Auditor(subject_id=session.subject_id, username=username or session.subject_id, account_id=holder)


def directory_roles(provider: Provider, subject_id: str, adapter_id: str) -> tuple[str, ...]:
    """The roles directory ``adapter_id`` gave the person at their latest sign-in through it (only
    when that source owns the ``vn_roles`` claim: no other source can grant a staff role)."""
    subject = provider.storage.subjects.get(subject_id)
    if subject is None:
        return ()
    owned = (subject.sources.get(adapter_id) or {}).get("claims") or ()
    roles = subject.claims.get(ROLES_CLAIM) if ROLES_CLAIM in owned else None
    return tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else ()
