"""The sign-in steps of passkeys and of enrolment, beside :class:`~idp.oidc.flow.core.AuthorizationFlow`.

- :meth:`SecondFactorSteps.show_passkey`, :meth:`~SecondFactorSteps.after_passkey`: a passkey as
  the second factor (after a password, for that person's passkeys only) or, on the login page's
  "sign in with a passkey", as the whole sign-in (username-less: the resident credential names
  the person). A username-less sign-in counts only for a source the client offers and the person
  has an account at (their local account, or a directory asked again now: a disabled or deleted
  directory account does not sign in with its passkey), and is refused while that account is
  locked.
- :meth:`~SecondFactorSteps.show_enrolment`, :meth:`~SecondFactorSteps.after_totp_enrolment`,
  :meth:`~SecondFactorSteps.after_passkey_enrolment`, :meth:`~SecondFactorSteps.after_enrolled`:
  a signed-in person whose client's policy asks for a second factor they do not have yet is told
  why and enrols one there (an authenticator app or a passkey); the new factor completes the sign-in
  (the recovery codes of a new TOTP factor are shown once first).

Failures of a second factor count under the first factor's lockout name (one counter per person,
across all factors) and are audited (``signin.mfa``, failure, with the reason).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from adapters.base import AccountLookup, AdapterError, Identity, lockout_key
from idp.errors import PageError
from idp.mfa.passkeys import PasskeyError, PasskeyService, PasskeyUse
from idp.mfa.totp import TotpError
from idp.oidc.flow.core import AuthorizationFlow
from idp.oidc.flow.factors import MFA_KIND, MFA_TTL, identity_from_record, pending_record, session_identity
from idp.oidc.flow.outcomes import Browser, Outcome, Prompt, ShowPage
from idp.oidc.interaction import Interaction
from idp.sessions import SsoSession
from policies.amr import merge_amr


class SecondFactorSteps:
    """Passkey and enrolment steps of ``flow``'s interactions."""

    def __init__(self, flow: AuthorizationFlow) -> None:
        self.flow = flow

    @property
    def passkeys(self) -> PasskeyService:
        if self.flow.passkeys is None:
            raise PageError("invalid_request")
        return self.flow.passkeys

    # -- a passkey: the second factor, or the whole sign-in

    def show_passkey(self, interaction_id: str, browser: Browser) -> Outcome:
        """The passkey page: for the person of a pending second factor, else username-less."""
        interaction, session = self.flow.bound(interaction_id, browser)
        pending = self._pending(interaction, session)
        if pending is None and not self._password_sources(interaction):
            return Prompt("login", interaction)
        return self._passkey_page(interaction, pending)

    def after_passkey(self, interaction_id: str, browser: Browser, credential: str) -> Outcome:
        """The authenticator's answer: the person is signed in, or the page again with one message."""
        interaction, session = self.flow.bound(interaction_id, browser)
        pending = self.flow.ephemeral.find(MFA_KIND, interaction.id)
        context = browser.context()
        client_id = interaction.request.client_id
        lockout = (pending.get("lockout") or pending["username"]) if pending else None
        throttle = self.flow.throttle.check(lockout, context.ip) if lockout is not None else None
        if pending is not None and throttle is not None and not throttle.allowed:
            self.flow.audit.record("signin.mfa", context=context, outcome="failure", username=pending["username"],
                                   client_id=client_id, reason=throttle.reason)
            return self._passkey_page(interaction, pending, "passkey_failed", 401)
        try:
            used = self.passkeys.authenticate(self._ceremony(interaction), credential, context=context)
        except PasskeyError as exc:
            if lockout is not None:
                self.flow.throttle.record_failure(lockout, context.ip, context=context)
            self.flow.audit.record("signin.mfa" if pending else "signin", context=context, outcome="failure",
                                   username=pending["username"] if pending else None, client_id=client_id,
                                   adapter="passkey", reason=exc.reason)
            return self._passkey_page(interaction, pending, "passkey_failed", 401)
        if pending is not None:
            self.flow.ephemeral.destroy(MFA_KIND, interaction.id)
            if lockout is not None and throttle is not None:
                self.flow.throttle.record_success(lockout, context.ip, checked=throttle)
            identity = identity_from_record(pending["identity"])
            return self._second_factor_done(interaction, browser, identity, used.amr, pending["adapter_type"],
                                            pending["username"])
        return self._usernameless(interaction, browser, used)

    def _usernameless(self, interaction: Interaction, browser: Browser, used: PasskeyUse) -> Outcome:
        """A resident credential named the person: their account at a source this client offers,
        as that source describes it now, signs in with the passkey's methods."""
        context = browser.context()
        found = self._source_identity(interaction, used.subject_id)
        if found is None:
            self.flow.audit.record("signin", context=context, outcome="failure", subject=used.subject_id,
                                   client_id=interaction.request.client_id, adapter="passkey",
                                   reason="no_source_for_client")
            return self._passkey_page(interaction, None, "passkey_not_here", 403)
        entry, identity, name = found
        lockout = lockout_key(entry.adapter, name) if name else used.subject_id
        throttle = self.flow.throttle.check(lockout, context.ip)
        if not throttle.allowed:  # a locked account stays locked, whatever factor is tried
            self.flow.audit.record("signin", context=context, outcome="failure", subject=used.subject_id,
                                   client_id=interaction.request.client_id, adapter=entry.id, reason=throttle.reason)
            return self._passkey_page(interaction, None, "passkey_failed", 401)
        identity = dataclasses.replace(identity, amr=used.amr, auth_time=int(time.time()))
        return self.flow._signed_in(interaction, browser, identity, entry.type, username=name or None)

    def _source_identity(self, interaction: Interaction, subject_id: str) -> tuple[Any, Identity, str] | None:
        """(adapter entry, identity, user name) of the person at the first password source the
        client offers where they have a usable account; None when there is none."""
        linked = self.flow.signins.source_accounts(subject_id)
        for entry in self._password_sources(interaction):
            if entry.type == "local":
                account = self.flow.accounts.get_by_subject(subject_id)
                identity_of = getattr(entry.adapter, "identity_of", None)
                if account is not None and not account.disabled and identity_of is not None:
                    return entry, identity_of(account), account.username
            elif entry.id in linked and isinstance(entry.adapter, AccountLookup):
                try:
                    identity = entry.adapter.lookup(linked[entry.id])
                except AdapterError:
                    continue
                return entry, identity, str(identity.claims.get("preferred_username") or "")
        return None

    def _password_sources(self, interaction: Interaction) -> list[Any]:
        if self.flow.passkeys is None:
            return []
        return [e for e in self.flow.offered(interaction) if "password" in e.capabilities]

    def _pending(self, interaction: Interaction, session: SsoSession | None) -> dict[str, Any] | None:
        pending = self.flow.ephemeral.find(MFA_KIND, interaction.id)
        if pending is None and self.flow._second_factor_for_session(session, interaction):
            pending = self.flow.ephemeral.find(MFA_KIND, interaction.id)
        return pending

    def _ceremony(self, interaction: Interaction) -> str:
        return f"{interaction.id}:signin"

    def _passkey_page(self, interaction: Interaction, pending: dict[str, Any] | None, error_id: str | None = None,
                      status: int = 200) -> ShowPage:
        subject_id = pending.get("subject_id") if pending else None
        options = self.passkeys.authentication_options(self._ceremony(interaction), subject_id)
        return ShowPage("passkey", interaction, error_id, status, facts={
            "options": options, "second_factor": pending is not None,
            "mfa_url": f"/interaction/{interaction.id}/mfa" if pending else None,
            "login_url": f"/interaction/{interaction.id}/login"})

    def _second_factor_done(self, interaction: Interaction, browser: Browser, identity: Identity,
                            methods: tuple[str, ...], adapter_type: str, username: str) -> Outcome:
        identity = dataclasses.replace(identity, amr=merge_amr(identity.amr, methods, ("mfa",)),
                                       auth_time=int(time.time()))
        self.flow.audit.record("signin.mfa", context=browser.context(), username=username,
                               client_id=interaction.request.client_id, amr=identity.amr)
        return self.flow._signed_in(interaction, browser, identity, adapter_type, username=username)

    # -- enrolment at sign-in

    def _enrolling(self, interaction_id: str, browser: Browser) -> tuple[Interaction, SsoSession, str] | Prompt:
        """The interaction, session and factor holder of a person the policy asks for a second
        factor they do not hold; else where to go instead."""
        interaction, session = self.flow.bound(interaction_id, browser)
        if session is None or (interaction.prompt or {}).get("kind") != "mfa":
            return Prompt("login", interaction)
        holder = self.flow.totp.holder_id(session.subject_id)
        if self.flow.totp.is_enrolled(holder) or self.passkeys.has_any(session.subject_id):
            return Prompt("mfa", interaction)
        return interaction, session, holder

    def show_enrolment(self, interaction_id: str, browser: Browser, error_id: str | None = None,
                       status: int = 200) -> Outcome:
        """Why a second factor is needed, and the two ways to add one: an authenticator app (a new
        secret as a QR code) or a passkey."""
        found = self._enrolling(interaction_id, browser)
        if isinstance(found, Prompt):
            return found
        interaction, session, holder = found
        name = session.username or ""
        enrolment = self.flow.totp.begin_enrolment(holder, auth_time=session.auth_time, label=name)
        options = self.passkeys.registration_options(f"{interaction.id}:enrol", session.subject_id, name, name)
        client = self.flow.client(interaction.request.client_id)
        return ShowPage("enrol", interaction, error_id, status, facts={
            "client_name": client.name if client else None, "qr_data_uri": enrolment.qr_data_uri,
            "secret": enrolment.secret, "passkey_options": options,
            "passkey_action": f"/interaction/{interaction.id}/enrol/passkey"})

    def after_totp_enrolment(self, interaction_id: str, browser: Browser, code: str) -> Outcome:
        """The first code of the new authenticator: the recovery codes (shown once), then on."""
        found = self._enrolling(interaction_id, browser)
        if isinstance(found, Prompt):
            return found
        interaction, session, holder = found
        context = browser.context(session.id)
        try:
            codes = self.flow.totp.confirm_enrolment(holder, code, context=context)
        except TotpError:
            return self.show_enrolment(interaction_id, browser, "invalid_code", 400)
        return self._recovery_codes_first(interaction, session, holder, ("otp",), codes)

    def after_enrolled(self, interaction_id: str, browser: Browser) -> Outcome:
        """The person saw their recovery codes: the new factor completes the sign-in."""
        interaction, _session = self.flow.bound(interaction_id, browser)
        pending = self.flow.ephemeral.consume(MFA_KIND, interaction.id)
        if pending is None or not pending.get("enrolled"):
            return Prompt("mfa", interaction)
        return self._second_factor_done(interaction, browser, identity_from_record(pending["identity"]),
                                        tuple(pending["enrolled"]), "local", pending["username"])

    def after_passkey_enrolment(self, interaction_id: str, browser: Browser, credential: str, name: str) -> Outcome:
        """A new passkey (made with user verification) completes the sign-in."""
        found = self._enrolling(interaction_id, browser)
        if isinstance(found, Prompt):
            return found
        interaction, session, holder = found
        context = browser.context(session.id)
        try:
            passkey = self.passkeys.register(f"{interaction.id}:enrol", session.subject_id, credential, name,
                                             username=session.username, context=context)
        except PasskeyError as exc:
            self.flow.audit.record("signin.mfa", context=context, outcome="failure", username=session.username,
                                   client_id=interaction.request.client_id, reason=exc.reason)
            return self.show_enrolment(interaction_id, browser, "passkey_failed", 400)
        methods = ("swk" if passkey.backed_up else "hwk", "user", "pin")
        codes = self.flow.totp.ensure_recovery_codes(holder)  # a first factor: a way back if it is lost
        if codes:
            return self._recovery_codes_first(interaction, session, holder, methods, codes)
        return self._second_factor_done(interaction, browser, session_identity(session, self.flow.issuer, holder),
                                        methods, "local", session.username or "")

    def _recovery_codes_first(self, interaction: Interaction, session: SsoSession, holder: str,
                              methods: tuple[str, ...], codes: list[str]) -> ShowPage:
        """The recovery codes of a person's first second factor, shown once; the sign-in completes
        with the new factor's ``methods`` when they go on (:meth:`after_enrolled`)."""
        self.flow.ephemeral.upsert(MFA_KIND, interaction.id, {**pending_record(
            session_identity(session, self.flow.issuer, holder), "local", session.username or "", holder),
            "enrolled": list(methods)}, MFA_TTL)
        return ShowPage("enrolled", interaction, facts={"codes": codes})
