"""The bridge between a pending authorization request and the policy engine (idp.oidc.assurance):
each ``prompt`` value is answered once per request and then the request goes on.

Real parts only: the engine, the interaction and session records as the endpoints store them.
``evaluate`` answering a ``login`` prompt is the sign-in page shown; ``consent`` the consent page.
"""

from __future__ import annotations

from adapters.base import Identity
from idp.oidc.assurance import authentication_json, context_for, level_of, state_of
from idp.oidc.interaction import Interaction
from idp.sessions import SsoSession
from idp.specs.authorization_request import AuthorizationRequest
from idp.storage.models import Client, Consent
from policies import OK, Outcome, Prompt, SessionState, evaluate
from policies.session import apply_login
from tests.unit.policies.builders import ISSUER, policy

T = 1_750_000_000  # the second the new authorization request began
CLIENT = Client(client_id="portal", name="Cổng dịch vụ công", auth_method="client_secret_basic",
                redirect_uris=("https://portal.example/cb",), scopes=("openid", "profile", "offline_access"))
POLICY = policy(adapters=("local",), scopes=("openid", "profile", "offline_access"))
PERSON = Identity(subject="canbo01", adapter_id="local", issuer="local", auth_time=0, acr="local-basic", amr=("pwd",))


def session_signed_in_at(at: int) -> SsoSession:
    """A session as idp.endpoints.interaction leaves it after a password sign-in at ``at``."""
    state = apply_login(SessionState(), level=level_of(PERSON), amr=PERSON.amr, adapter_id=PERSON.adapter_id, now=at)
    return SsoSession(id="s", sid="sid", subject_id="subject-1", auth_time=at, created_at=at, last_seen=at,
                      policy=authentication_json(state))


def interaction(*prompt: str, scopes: tuple[str, ...] = ("openid", "profile", "offline_access"),
                **changes: object) -> Interaction:
    request = AuthorizationRequest(client_id="portal", redirect_uri="https://portal.example/cb", scopes=scopes,
                                   code_challenge="c" * 43, prompt=prompt)
    return Interaction(id="i", request=request, created_at=T).replace(**changes)


def outcome(session: SsoSession | None, pending: Interaction, consent: Consent | None = None, *,
            now: int = T) -> Outcome:
    return evaluate(context_for(POLICY, ISSUER, CLIENT, pending, now), state_of(session, consent, pending))


def remembered(*scopes: str) -> Consent:
    return Consent(subject_id="subject-1", client_id="portal", scopes=frozenset(scopes))


def test_prompt_consent_shows_the_page_once_then_goes_on() -> None:
    session = session_signed_in_at(T - 300)
    everything = remembered("profile", "offline_access")  # consented in an earlier request
    asked = outcome(session, interaction("consent"), everything)
    assert isinstance(asked, Prompt) and asked.kind == "consent"
    assert set(asked.scopes) == {"profile", "offline_access"}
    # The person pressed Allow (idp.endpoints.consent records it on the interaction), then resume:
    allowed = interaction("consent", consented_scopes=("offline_access", "profile"), consented_claims=())
    assert outcome(session, allowed, everything, now=T + 5) == OK


def test_prompt_consent_after_a_sign_in_in_the_same_request() -> None:
    signed_in_now = session_signed_in_at(T)
    after_login = interaction("consent", logged_in_at=T, session_id="s")
    asked = outcome(signed_in_now, after_login)
    assert isinstance(asked, Prompt) and asked.kind == "consent"
    allowed = after_login.replace(consented_scopes=("offline_access", "profile"), consented_claims=())
    assert outcome(signed_in_now, allowed, now=T + 1) == OK


def test_allow_with_nothing_to_list_still_answers_prompt_consent() -> None:
    session = session_signed_in_at(T - 300)
    asked = outcome(session, interaction("consent", scopes=("openid",)))
    assert isinstance(asked, Prompt) and asked.kind == "consent"
    allowed = interaction("consent", scopes=("openid",), consented_scopes=(), consented_claims=())
    assert outcome(session, allowed) == OK


def test_remembered_consent_does_not_answer_prompt_consent() -> None:
    session = session_signed_in_at(T - 300)
    assert isinstance(outcome(session, interaction("consent"), remembered("profile", "offline_access")), Prompt)
    assert outcome(session, interaction(), remembered("profile", "offline_access")) == OK


def test_a_sign_in_in_the_very_second_the_request_began_is_not_one_made_for_it() -> None:
    # Signed in for an earlier request at T; the relying party's prompt=login request began at T too.
    earlier = session_signed_in_at(T)
    for value in ("login", "select_account"):
        asked = outcome(earlier, interaction(value), remembered("profile", "offline_access"))
        assert isinstance(asked, Prompt) and asked.kind == "login", value
        # The person typed the password in this request (still at T): it counts, no second page.
        signed_in = interaction(value, logged_in_at=T, session_id="s")
        assert outcome(earlier, signed_in, remembered("profile", "offline_access")) == OK, value


def test_max_age_zero_asks_once() -> None:
    earlier = session_signed_in_at(T - 1)
    pending = interaction(scopes=("openid",))
    pending = pending.replace(request=AuthorizationRequest(**{**pending.request.to_record(), "max_age": 0}))
    asked = outcome(earlier, pending, now=T + 1)
    assert isinstance(asked, Prompt) and asked.kind == "login"
    again = session_signed_in_at(T + 1)
    assert outcome(again, pending.replace(logged_in_at=T + 1, session_id="s"), now=T + 2) == OK

