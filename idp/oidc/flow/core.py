"""The sign-in flow, from ``/authorize`` to the code: every step of an interaction, owned here.

Steps (each returns an :mod:`~idp.oidc.flow.outcomes` outcome; failures a person should read are
:class:`~idp.errors.PageError`):

- :meth:`AuthorizationFlow.begin`: a validated authorization request;
- :meth:`~AuthorizationFlow.resume`: continue a stored interaction that has nothing to ask
  (``/authorize/resume/{id}``: the provider's own pages);
- :meth:`~AuthorizationFlow.after_first_factor`: a password form (may ask for the TOTP code);
- :meth:`~AuthorizationFlow.after_second_factor`: the TOTP or recovery code;
- :meth:`~AuthorizationFlow.start_upstream`, :meth:`~AuthorizationFlow.after_upstream`: an
  upstream identity source and its answer;
- :meth:`~AuthorizationFlow.after_organisation`: for whom the person acts, when the service accepts
  organisations and the sign-in names some (idp.oidc.flow.organisations);
- :meth:`~AuthorizationFlow.after_consent`: the person's decision on the consent page;
- :meth:`~AuthorizationFlow.own_page`: the provider's own pages (account, console) start a sign-in.

One resume path, owned here: every step that ends an interaction's prompt (a sign-in, a second
factor, an upstream's answer, a consent) goes on through :meth:`_continue` in the same request, which
asks the client's policy what the request needs next and prompts for it, denies it, or issues the
code, at most once (a stored interaction is consumed first, so two concurrent requests never both
issue one). ``/authorize/resume/{id}`` (:meth:`resume`) is only the HTTP door to that continuation
for a page that has nothing to ask of the person. As node oidc-provider's ``resume``, every
interaction end continues there; unlike it, without a redirect (one request, and no stored
"answered but not yet resumed" state that a link could carry to another browser).

Every step of a stored interaction first checks its binding (idp.web.binding): only the browser
that started it, and once someone is signed in only that session, may take it; another gets the
``interaction_foreign`` page and the refusal is audited (``signin``, denied).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, NoReturn
from urllib.parse import urlsplit

from adapters.base import AdapterError, Identity, InvalidCredentials, RequestData, SourceUnavailable, lockout_key
from idp.errors import OAuthError, PageError
from idp.mfa.passkeys import PasskeyService
from idp.mfa.totp import TotpService
from idp.oidc.assurance import after_sign_in, authentication_json, context_for, effective, level_of, state_of
from idp.oidc.client_policies import ClientPolicies
from idp.oidc.consents import ConsentLedger, Recorder
from idp.oidc.flow import levels, organisations
from idp.oidc.flow.checks import id_token_hint
from idp.oidc.flow.factors import (
    MFA_KIND,
    MFA_TTL,
    identity_from_record,
    pending_record,
    second_factor_holder,
    session_identity,
)
from idp.oidc.flow.outcomes import Browser, Deny, IssueCode, Outcome, Prompt, ShowPage, Upstream
from idp.oidc.hints import IdTokenHints
from idp.oidc.interaction import Interaction, InteractionStore
from idp.oidc.internal_clients import LANDING_PAGES, ClientFinder, client_for, landing_of
from idp.oidc.session_bridge import SessionBridge
from idp.oidc.signin import SignIns
from idp.security.throttle import Throttle
from idp.sessions import SessionStore, SsoSession
from idp.specs.authorization_request import AuthorizationRequest
from idp.storage.ephemeral import EphemeralStore
from idp.storage.models import Client
from idp.storage.protocols import AccountStore
from policies import ClaimRelease, ClientPolicy, evaluate, release_claims, requested_claim_names
from policies import Deny as PolicyDeny
from policies import Prompt as PolicyPrompt

UPSTREAM_KIND = "upstream"
UPSTREAM_TTL = 600
#: The page of the interaction that answers each kind of policy prompt.
PROMPT_PAGES = {"login": "login", "step_up": "login", "mfa": "mfa", "consent": "consent"}
#: The policy's reasons for a login prompt that the login page explains (``login.notice.<reason>``).
LOGIN_NOTICES = frozenset({"organisation_not_accepted"})


def release_details(policy: ClientPolicy, release: ClaimRelease) -> dict[str, Any]:
    """The audit details of what a client's policy releases to it: the scopes, the policy's digest
    and what it withheld (``kind:name:reason``)."""
    return {"scope": " ".join(release.scopes), "policy": policy.digest,
            "dropped": [f"{d.kind}:{d.name}:{d.reason}" for d in release.dropped]}


def planned_release(policy: ClientPolicy, authz: AuthorizationRequest) -> ClaimRelease:
    """What the policy releases for this authorization request (the scopes and claims of its code)."""
    return release_claims(policy, authz.scopes, requested_claim_names(authz.claims))


class AuthorizationFlow:
    """The interaction from a validated authorization request to its code.

    Built once by the compose step (idp.server) from the narrow services it uses: ``clients``
    (lookup), ``policies`` (each client's policy and adapters), ``interactions`` (the pending
    requests), ``hints`` (id_token_hint), ``consents``, ``signins`` (identity to subject and SSO
    session), ``sessions``, ``codes`` (issues a code in a session), ``accounts`` (local accounts, read
    only), ``throttle``, ``totp``, ``ephemeral`` (a pending second factor, an upstream's state) and
    ``audit``."""

    def __init__(self, *, issuer: str, clients: ClientFinder, policies: ClientPolicies,
                 interactions: InteractionStore, hints: IdTokenHints, consents: ConsentLedger, signins: SignIns,
                 sessions: SessionStore, codes: SessionBridge, accounts: AccountStore, throttle: Throttle,
                 totp: TotpService, ephemeral: EphemeralStore, audit: Recorder,
                 restricted_scopes: tuple[str, ...], passkeys: PasskeyService | None = None) -> None:
        self.issuer = issuer
        self.clients = clients
        self.policies = policies
        self.interactions = interactions
        self.hints = hints
        self.consents = consents
        self.signins = signins
        self.sessions = sessions
        self.codes = codes
        self.accounts = accounts
        self.throttle = throttle
        self.totp = totp
        self.passkeys = passkeys
        self.ephemeral = ephemeral
        self.audit = audit
        self.restricted_scopes = restricted_scopes

    def client(self, client_id: str) -> Client | None:
        """The client of a request: a registered one, or one of the provider's own pages."""
        return client_for(self.issuer, self.clients, client_id)

    # -- the entry of every step: the interaction and its binding

    def pending(self, interaction_id: str, browser: Browser) -> Interaction:
        """The stored interaction, when ``browser`` started it. Otherwise a page: ``session_expired``
        (unknown or expired), ``interaction_foreign`` (another browser's, audited)."""
        interaction = self.interactions.get(interaction_id)
        if interaction is None:
            raise PageError("session_expired")
        if not browser.owns(interaction.browser):
            self._refuse(interaction, browser, "foreign_browser")
        return interaction

    def bound(self, interaction_id: str, browser: Browser) -> tuple[Interaction, SsoSession | None]:
        """:meth:`pending`, and once someone is signed in for it only that session continues it:
        ``interaction_foreign`` for another session or none. Returns the interaction and the session."""
        interaction = self.pending(interaction_id, browser)
        session = browser.session()
        if interaction.session_id is not None and (session is None or session.id != interaction.session_id):
            self._refuse(interaction, browser, "foreign_session", session)
        return interaction, session

    def _refuse(self, interaction: Interaction, browser: Browser, reason: str,
                session: SsoSession | None = None) -> NoReturn:
        """Audit (``signin``, denied, ``reason``) and show the page that says this step belongs to
        another browser or session. The interaction stays as it is for its own browser."""
        self.audit.record("signin", context=browser.context(session.id if session else None), outcome="denied",
                          client_id=interaction.request.client_id, reason=reason,
                          subject=session.subject_id if session else None)
        raise PageError("interaction_foreign", status_code=403)

    # -- starting and resuming

    def begin(self, authz: AuthorizationRequest, browser: Browser) -> Outcome:
        """A validated authorization request: answered at once by an SSO session (nothing stored),
        or stored as an interaction bound to ``browser`` when a prompt needs the person."""
        return self._continue(self.interactions.new(authz), browser, browser.session(), stored=False)

    def resume(self, interaction_id: str, browser: Browser) -> Outcome:
        """Continue a stored interaction (after the consent page, or for the provider's own pages)."""
        interaction, session = self.bound(interaction_id, browser)
        return self._continue(interaction, browser, session)

    def own_page(self, authz: AuthorizationRequest, browser: Browser, session: SsoSession | None, *, page: str,
                 prompt: dict[str, Any] | None = None) -> Prompt:
        """A sign-in for the provider's own pages (account, console), bound to ``browser`` and to
        ``session``, starting at ``page`` (``resume``, ``login``, ``mfa``)."""
        interaction = self.interactions.create(
            authz, browser=browser.key(), session_id=session.id if session else None, prompt=prompt)
        return Prompt(page, interaction)

    def _continue(self, interaction: Interaction, browser: Browser, session: SsoSession | None, *,
                  stored: bool = True) -> Outcome:
        """Check what needs the session (idp.oidc.flow.checks), ask the client's policy what the
        pending request needs next, and take that step.

        ``session``: the one to continue with (one a sign-in in this request just started, whose
        cookie is not sent yet, or the browser's). ``stored``: whether the interaction is in the
        store (then it is consumed before a code is issued: never twice); a new one is stored only
        by a prompt, bound to this browser (kept from the first prompt) and to the session.
        """
        authz = interaction.request
        client = self.client(authz.client_id)
        if client is None:
            raise PageError("unknown_client")

        def fail(error: str, description: str | None) -> Deny:
            if stored:
                self.interactions.finish(interaction.id)
            return Deny(authz, error, description)

        try:  # the checks that need the session (idp.oidc.flow.checks), then the client's policy
            session = id_token_hint.check(self.hints, authz, client, session)
        except OAuthError as exc:
            return fail(exc.error, exc.description)
        now = int(time.time())
        policy = self.policies.policy_for(client.client_id)
        consent = self.consents.get(session.subject_id, client.client_id) if session else None
        state = state_of(session, consent, interaction)
        outcome = evaluate(context_for(policy, self.issuer, client, interaction, now,
                                       adapter_max_acr=self.policies.reach), state)
        if isinstance(outcome, PolicyDeny):
            self.audit.record("signin", context=browser.context(session.id if session else None),
                              outcome="denied", client_id=client.client_id, reason=outcome.reason,
                              subject=session.subject_id if session else None, details={"check": outcome.check})
            return fail(outcome.error, outcome.reason)
        if (session is not None and organisations.to_choose(policy, session, interaction)
                and (not isinstance(outcome, PolicyPrompt) or outcome.kind == "consent")):
            # for whom the person acts, before the consent page names it (idp.oidc.flow.organisations)
            waiting = interaction.replace(prompt={"kind": organisations.PAGE},
                                          browser=interaction.browser or browser.key(), session_id=session.id)
            self.interactions.save(waiting)
            return Prompt(organisations.PAGE, waiting)
        if isinstance(outcome, PolicyPrompt):
            prompt = {"kind": outcome.kind, "reason_id": outcome.reason_id, "adapters": list(outcome.adapters),
                      "scopes": list(outcome.scopes), "claims": list(outcome.claims),
                      "required_acr": outcome.required_acr.token if outcome.required_acr is not None else None}
            waiting = interaction.replace(prompt=prompt, browser=interaction.browser or browser.key(),
                                          session_id=session.id if session is not None else None)
            self.interactions.save(waiting)
            return Prompt(PROMPT_PAGES[outcome.kind], waiting)
        assert session is not None
        if stored and self.interactions.finish(interaction.id) is None:
            raise PageError("session_expired")  # finished by a concurrent request: never issue twice
        if authz.client_id in LANDING_PAGES:  # the provider's own pages: no code, back to the page
            return IssueCode(authz, None, landing=landing_of(self.issuer, authz))
        achieved = effective(state, policy, now)
        release = planned_release(policy, authz)
        code = self.codes.issue_code(authz, session, scopes=release.scopes,
                                     released_claims=tuple(sorted(release.claims)),
                                     acr=achieved.acr_uri(self.issuer), amr=achieved.amr, auth_time=achieved.auth_time,
                                     acting_for=interaction.acting_for or None)
        if interaction.logged_in_at is None:
            # An SSO join: this event is the only record that the session reached this client. After a
            # sign-in in this request, the ``signin`` event already says who, for which client, and
            # what the policy releases (release_details), and ``token.issued`` what was issued.
            self.audit.record("code.issued", context=browser.context(session.id), subject=session.subject_id,
                              client_id=client.client_id, acr=achieved.acr_uri(self.issuer), amr=achieved.amr,
                              details=release_details(policy, release))
        return IssueCode(authz, code)

    # -- the login page and the first factor

    def offered(self, interaction: Interaction) -> list[Any]:
        """The adapters this sign-in may use: the policy's, narrowed by the prompt being answered."""
        entries = self.policies.adapters_for(interaction.request.client_id)
        wanted = (interaction.prompt or {}).get("adapters")
        offered = [e for e in entries if not wanted or e.id in wanted]
        if interaction.session_id is None and offered and all(e.type == "cccd-chip" for e in offered):
            # the chip ID card lifts a sign-in and is none (idp/oidc/flow/chip.py): sign in first
            return [e for e in entries if e.type != "cccd-chip"]
        return offered

    def show_login(self, interaction_id: str, browser: Browser) -> ShowPage:
        """The login page of the interaction: the sources its client may use."""
        return self._login_page(self.pending(interaction_id, browser))

    def _login_page(self, interaction: Interaction, error_id: str | None = None, status: int = 200) -> ShowPage:
        client = self.client(interaction.request.client_id)
        sources = []
        for entry in self.offered(interaction):
            kind = "redirect" if "redirect" in entry.capabilities else "password"
            if entry.type == "cccd-chip" and interaction.session_id is not None:
                kind = "chip"  # lifts the signed-in person's level (idp/oidc/flow/chip.py)
            elif "certificate" in entry.capabilities:
                kind = "certificate"  # a signed challenge (idp/oidc/flow/certificate.py)
            elif kind == "password" and "password" not in entry.capabilities:
                continue
            sources.append({"id": entry.id, "kind": kind,
                            "display_name": {"vi": entry.adapter.display_name("vi"),
                                             "en": entry.adapter.display_name("en")}})
        reason = (interaction.prompt or {}).get("reason_id")
        return ShowPage("login", interaction, error_id, status,
                        facts={"client_name": client.name if client else None, "adapters": sources,
                               "notice_id": reason if reason in LOGIN_NOTICES else None})

    def after_first_factor(self, interaction_id: str, browser: Browser, adapter_id: str, username: str,
                           password: str) -> Outcome:
        """A password form: the login page again with one message on any failure (never "unknown
        user" versus "wrong password", nor "locked": the audit trail keeps the true reason), the
        TOTP page when the account has one, else the person is signed in and the request goes on."""
        interaction = self.pending(interaction_id, browser)
        entry = next((e for e in self.offered(interaction) if e.id == adapter_id), None)
        if entry is None or "password" not in entry.capabilities:
            raise PageError("invalid_request")
        username, password = username.strip()[:255], password[:1024]
        if not username or not password:
            return self._login_page(interaction, "login_failed", 400)
        context = browser.context()
        client_id = interaction.request.client_id
        lockout = lockout_key(entry.adapter, username)  # one counter per account, whichever of its names is typed
        throttle = self.throttle.check(lockout, context.ip)
        if not throttle.allowed:
            self.audit.record("signin", context=context, outcome="failure", username=username, client_id=client_id,
                              adapter=adapter_id, reason=throttle.reason)
            if throttle.reason == "ip_locked":  # the address, not the account: says nothing about the account
                return self._login_page(interaction, "too_many_attempts", 429)
            # A hold on the account (locked, back-off) is answered as a wrong password: a different
            # answer would tell which user names exist. The audit trail keeps the true reason.
            return self._login_page(interaction, "login_failed", 401)
        try:
            identity = entry.adapter.authenticate(username, password)
        except AdapterError as exc:
            if not isinstance(exc, SourceUnavailable):
                self.throttle.record_failure(lockout, context.ip, context=context)
            reason = exc.reason
            if isinstance(exc, InvalidCredentials) and entry.type == "local":  # the audit trail tells them apart
                reason = "wrong_password" if self.accounts.get_by_username(username) else "unknown_user"
            self.audit.record("signin", context=context, outcome="failure", username=username, client_id=client_id,
                              adapter=adapter_id, reason=reason)
            if isinstance(exc, SourceUnavailable):
                return self._login_page(interaction, "source_unavailable", 503)
            return self._login_page(interaction, "login_failed", 401)
        held = second_factor_holder(self.totp, self.passkeys, self.signins, identity, entry.type)
        if held is not None:
            # First factor done: keep the identity aside until the second factor is shown.
            self.ephemeral.upsert(MFA_KIND, interaction.id, pending_record(
                identity, entry.type, username, held[0], subject_id=held[1], lockout=lockout), MFA_TTL)
            return Prompt("mfa", interaction)
        self.throttle.record_success(lockout, context.ip, checked=throttle)
        return self._signed_in(interaction, browser, identity, entry.type, username=username)

    # -- the second factor

    def show_mfa(self, interaction_id: str, browser: Browser) -> Outcome:
        """The second-factor page (TOTP code, or a passkey): after a password, or for a signed-in
        person whose client's policy asks for a second factor (prepared from the session when they
        hold one); the enrolment page when the policy asks for one they do not have yet; otherwise
        the login page, which offers a stronger sign-in."""
        interaction, session = self.bound(interaction_id, browser)
        pending = self.ephemeral.find(MFA_KIND, interaction.id)
        if pending is None and not self._second_factor_for_session(session, interaction):
            if session is not None and (interaction.prompt or {}).get("kind") == "mfa":
                return Prompt("enrol", interaction)
            return Prompt("login", interaction)
        pending = pending or self.ephemeral.find(MFA_KIND, interaction.id) or {}
        holder, subject_id = pending.get("account_id"), pending.get("subject_id")
        return ShowPage("mfa", interaction, facts={
            "totp": bool(holder and self.totp.is_enrolled(holder)),
            "recovery": bool(holder and self.totp.has_recovery_codes(holder)),
            "passkey_url": (f"/interaction/{interaction.id}/passkey" if subject_id and self.passkeys is not None
                            and self.passkeys.has_any(subject_id) else None)})

    def _second_factor_for_session(self, session: SsoSession | None, interaction: Interaction) -> bool:
        if session is None or (interaction.prompt or {}).get("kind") != "mfa":
            return False
        holder = self.totp.holder_id(session.subject_id)
        if not self.totp.is_enrolled(holder) and not (self.passkeys is not None
                                                      and self.passkeys.has_any(session.subject_id)):
            return False
        username = session.username or session.subject_id
        self.ephemeral.upsert(MFA_KIND, interaction.id, pending_record(
            session_identity(session, self.issuer, holder), "local", username, holder), MFA_TTL)
        return True

    def after_second_factor(self, interaction_id: str, browser: Browser, code: str) -> Outcome:
        """The TOTP (or a recovery) code: failures count in the password's throttle and a hold on
        the account is answered as a wrong code; a right code signs the person in."""
        interaction, _session = self.bound(interaction_id, browser)
        pending = self.ephemeral.find(MFA_KIND, interaction.id)
        if pending is None:
            return Prompt("login", interaction)
        context = browser.context()
        username, account_id = pending["username"], pending["account_id"]
        lockout = pending.get("lockout") or username  # the first factor's counter: one per person
        throttle = self.throttle.check(lockout, context.ip)
        verdict = throttle.reason
        ok = throttle.allowed and code and (self.totp.verify(account_id, code) or (
            len(code) > 8 and self.totp.use_recovery_code(account_id, code, context=context)))
        if not ok:
            if verdict is None:
                self.throttle.record_failure(lockout, context.ip, context=context)
            self.audit.record("signin.mfa", context=context, outcome="failure", username=username,
                              client_id=interaction.request.client_id, reason=verdict or "invalid_code")
            # Only the address's own throttle says "too many attempts".
            if verdict == "ip_locked":
                return ShowPage("mfa", interaction, "too_many_attempts", 429)
            return ShowPage("mfa", interaction, "invalid_code", 401)
        self.ephemeral.destroy(MFA_KIND, interaction.id)
        self.throttle.record_success(lockout, context.ip, checked=throttle)
        identity = identity_from_record(pending["identity"])
        identity = dataclasses.replace(identity, amr=(*identity.amr, "otp", "mfa"), auth_time=int(time.time()))
        self.audit.record("signin.mfa", context=context, username=username, client_id=interaction.request.client_id,
                          amr=identity.amr)
        return self._signed_in(interaction, browser, identity, pending["adapter_type"], username=username)

    # -- an upstream identity source

    def start_upstream(self, interaction_id: str, browser: Browser, adapter_id: str) -> Upstream:
        """Send the person to the upstream ``adapter_id``; its state (state, nonce, PKCE verifier)
        is kept under the upstream ``state`` value with this browser's key."""
        interaction = self.pending(interaction_id, browser)
        entry = next((e for e in self.offered(interaction) if e.id == adapter_id), None)
        if entry is None or "redirect" not in entry.capabilities:
            raise PageError("invalid_request")
        try:
            url, pending = entry.adapter.begin(self.callback_url(adapter_id), levels.upstream_request(interaction))
        except AdapterError as exc:
            self.audit.record("adapter.error", context=browser.context(), outcome="failure", adapter=adapter_id,
                              client_id=interaction.request.client_id, reason=exc.reason)
            raise PageError("source_unavailable", status_code=503) from None
        state = pending.get("state")
        if not isinstance(state, str) or not state:
            raise PageError("server_error", status_code=500)
        self.ephemeral.upsert(UPSTREAM_KIND, state, {"pending": pending, "interaction": interaction.id,
                                                         "adapter": adapter_id, "browser": browser.key(),
                                                         "client": interaction.request.client_id}, UPSTREAM_TTL)
        if urlsplit(url).scheme not in ("https", "http"):
            raise PageError("server_error", status_code=500)
        return Upstream(url)

    def callback_url(self, adapter_id: str) -> str:
        return f"{self.issuer}/callback/{adapter_id}"

    def after_upstream(self, adapter_id: str, state: str, browser: Browser, data: RequestData) -> Outcome:
        """The upstream's answer: its state is consumed once; a callback in another browser is
        refused (audited) before anything is asked of the upstream (no login CSRF)."""
        kept = self.ephemeral.consume(UPSTREAM_KIND, state) if state and len(state) < 512 else None
        if kept is None or kept["adapter"] != adapter_id:
            self.audit.record("signin", context=browser.context(), outcome="failure", adapter=adapter_id,
                              reason="invalid_state")
            raise PageError("upstream_rejected")
        if not browser.owns(kept.get("browser")):
            self.audit.record("signin", context=browser.context(), outcome="denied", adapter=adapter_id,
                              client_id=kept.get("client"), reason="foreign_browser")
            raise PageError("interaction_foreign", status_code=403)
        interaction = self.pending(kept["interaction"], browser)
        entry = next((e for e in self.offered(interaction) if e.id == adapter_id), None)
        if entry is None:
            raise PageError("invalid_request")
        try:
            identity = entry.adapter.complete(self.callback_url(adapter_id), data, kept["pending"])
            return self._signed_in(interaction, browser, identity, entry.type,
                                   shortfall=levels.shortfall(interaction, identity))
        except AdapterError as exc:
            self.audit.record("signin", context=browser.context(), outcome="failure", adapter=adapter_id,
                              client_id=interaction.request.client_id, reason=exc.reason)
            if isinstance(exc, SourceUnavailable):
                raise PageError("source_unavailable", status_code=503) from None
            raise PageError("upstream_rejected", status_code=400) from None

    # -- consent

    def show_consent(self, interaction_id: str, browser: Browser) -> Outcome:
        """The consent page (what the client will receive), or the continuation when no consent is asked."""
        interaction, session = self.bound(interaction_id, browser)
        prompt = interaction.prompt or {}
        if session is None or prompt.get("kind") != "consent":
            return self._continue(interaction, browser, session)
        client = self.client(interaction.request.client_id)
        restricted = set(self.restricted_scopes)
        asked = prompt.get("scopes") or interaction.request.scopes
        scopes = [{"name": s, "restricted": s in restricted} for s in asked]
        return ShowPage("consent", interaction, facts={
            "client_name": client.name if client else interaction.request.client_id, "scopes": scopes,
            "claims": sorted(prompt.get("claims") or ()),
            "acting_for": (interaction.acting_for or {}).get("name")})

    def after_consent(self, interaction_id: str, browser: Browser, decision: str | None) -> Outcome:
        """``allow`` remembers the consent (per person, client and scope set) and the request goes on
        in this step (:meth:`_continue`); anything else ends it with ``access_denied``."""
        interaction, session = self.bound(interaction_id, browser)
        if session is None:
            return self._continue(interaction, browser, session)
        authz = interaction.request
        context = browser.context(session.id)
        if decision != "allow":
            self.interactions.finish(interaction_id)
            self.audit.record("consent.denied", context=context, outcome="denied", subject=session.subject_id,
                              client_id=authz.client_id)
            return Deny(authz, "access_denied", "the person declined")
        prompt = interaction.prompt or {}
        scopes, claims = set(prompt.get("scopes") or ()), set(prompt.get("claims") or ())
        self.consents.grant(session.subject_id, authz.client_id, scopes, claims, context=context)
        answered = interaction.replace(
            prompt=None, consented_scopes=tuple(sorted(scopes | set(interaction.consented_scopes or ()))),
            consented_claims=tuple(sorted(claims | set(interaction.consented_claims or ()))))
        return self._continue(answered, browser, session)

    # -- signed in

    def _signed_in(self, interaction: Interaction, browser: Browser, identity: Identity, adapter_type: str, *,
                   username: str | None = None, shortfall: levels.Shortfall | None = None) -> Outcome:
        """A new SSO session for ``identity`` (audited: ``signin``), and the request goes on in this
        step (or, with a ``shortfall`` below the level needed, ends as :meth:`_level_unmet` says); the
        outcome carries the session (its cookie is to be set)."""
        subject_id = self.signins.subject_for(identity, adapter_type)
        acr = level_of(identity).uri(self.issuer)
        previous = browser.session()
        kind = (interaction.prompt or {}).get("kind", "login")
        authz = interaction.request
        policy = self.policies.policy_for(authz.client_id)
        state = after_sign_in(previous, identity, subject_id, kind=kind, window_seconds=policy.step_up_window_seconds)
        with self.sessions.writes_deferred():  # the new session is written once, with the client's grant
            session = self.signins.start_session(identity, subject_id, acr, previous, policy=authentication_json(state))
            if identity.evidence.get("logout"):  # to end the upstream session too when this one ends
                session = session.replace(upstream={"adapter": identity.adapter_id,
                                                    "logout": identity.evidence["logout"]})
                self.sessions.save(session)
            entitled = organisations.entitlements(self.policies.adapters_for(authz.client_id), identity)
            if entitled:  # the organisations this person may act for (idp.oidc.flow.organisations)
                session = session.replace(entitlements=entitled)
                self.sessions.save(session)
            # The code this sign-in leads to gets no event of its own (_continue): this one says
            # what the client's policy releases.
            details = ({} if authz.client_id in LANDING_PAGES
                       else release_details(policy, planned_release(policy, authz)))
            self.audit.record("signin", context=browser.context(session.id), subject=subject_id, username=username,
                              client_id=authz.client_id, adapter=identity.adapter_id, acr=acr, amr=tuple(identity.amr),
                              details=details)
            # Straight on (the one resume path, no redirect: one request, and one store write
            # and two reads fewer per sign-in); the interaction is stored again only when a further
            # prompt (consent, a second factor) needs it.
            signed_in = interaction.replace(logged_in_at=int(time.time()), session_id=session.id, prompt=None)
            outcome = (self._continue(signed_in, browser, session) if shortfall is None
                       else self._level_unmet(interaction, browser, session, shortfall))
        return dataclasses.replace(outcome, session=session)

    # -- acting for an organisation (idp.oidc.flow.organisations)

    def show_organisation(self, interaction_id: str, browser: Browser, error_id: str | None = None,
                          status: int = 200) -> Outcome:
        """The page where the person chooses for whom they act (the resumption when not asked)."""
        interaction, session = self.bound(interaction_id, browser)
        if session is None or (interaction.prompt or {}).get("kind") != organisations.PAGE:
            return Prompt("resume", interaction)
        client = self.client(interaction.request.client_id)
        return ShowPage(organisations.PAGE, interaction, error_id, status,
                        facts=organisations.page_facts(session, client.name if client else None))

    def after_organisation(self, interaction_id: str, browser: Browser, choice: str) -> Outcome:
        """The choice: oneself, or an organisation the sign-in names (audited: ``signin`` with
        ``acting_for``); any other is refused on the page again, audited (``organisation_not_entitled``)."""
        interaction, session = self.bound(interaction_id, browser)
        if session is None or (interaction.prompt or {}).get("kind") != organisations.PAGE:
            return Prompt("resume", interaction)
        client_id = interaction.request.client_id
        acting_for = organisations.chosen(session, choice)
        if acting_for is None:
            self.audit.record("signin", context=browser.context(session.id), outcome="denied",
                              subject=session.subject_id, client_id=client_id, reason=organisations.REFUSED,
                              details={"acting_for": choice[:32]})
            return self.show_organisation(interaction_id, browser, organisations.REFUSED, 403)
        if acting_for:
            self.audit.record("signin", context=browser.context(session.id), subject=session.subject_id,
                              client_id=client_id, details={"acting_for": acting_for["tax_code"],
                                                            "role": acting_for.get("role")})
        return self._continue(interaction.replace(prompt=None, acting_for=acting_for), browser, session)

    # -- a sign-in below the level needed (idp.oidc.flow.levels)

    def _level_unmet(self, interaction: Interaction, browser: Browser, session: SsoSession,
                     gap: levels.Shortfall) -> Outcome:
        """Audited as a refusal with the asked and the achieved level; the client gets
        ``unmet_authentication_requirements`` when it asked for that (an essential ``acr``,
        ``prompt=none``), else the page that says which level is needed and how to reach it."""
        authz = interaction.request
        self.audit.record("signin", context=browser.context(session.id), outcome="denied",
                          subject=session.subject_id, client_id=authz.client_id, adapter=session.adapter,
                          acr=gap.achieved.uri(self.issuer), reason="acr_unmet", details=gap.details())
        if levels.ends_at_client(interaction):
            self.interactions.finish(interaction.id)
            return Deny(authz, levels.UNMET, levels.unmet_description(gap))
        waiting = interaction.replace(prompt=levels.waiting_prompt(interaction, gap), session_id=session.id)
        self.interactions.save(waiting)
        return Prompt(levels.PAGE, waiting)

    def show_level_unmet(self, interaction_id: str, browser: Browser) -> Outcome:
        """The page of a sign-in below the level needed (the resumption when there is none)."""
        interaction, _session = self.bound(interaction_id, browser)
        gap = levels.recorded_shortfall(interaction)
        if gap is None:
            return Prompt("resume", interaction)
        client = self.client(interaction.request.client_id)
        return ShowPage(levels.PAGE, interaction, facts=levels.page_facts(gap, client.name if client else None))

    def leave_level_unmet(self, interaction_id: str, browser: Browser) -> Outcome:
        """Back to the service from that page: it gets ``unmet_authentication_requirements``."""
        interaction, _session = self.bound(interaction_id, browser)
        gap = levels.recorded_shortfall(interaction)
        if gap is None:
            return Prompt("resume", interaction)
        self.interactions.finish(interaction.id)
        return Deny(interaction.request, levels.UNMET, levels.unmet_description(gap))
