"""Who may call the admin API, and for which area.

Two kinds of caller, deny by default:

- a relying party with a ``client_credentials`` access token (``Authorization: Bearer``, or
  ``Authorization: DPoP`` with a proof for a DPoP-bound token, RFC 9449 §7) carrying
  the area's scope: ``admin:clients``, ``admin:people``, ``admin:policies`` or ``admin:keys``. The
  scopes are granted per client by an operator (``idp clients add|update --scope admin:clients``);
  dynamic registration cannot register them (they are not among the scopes it offers). The token
  must be the client's own (no person behind it); a DPoP-bound one (``cnf.jkt``, a strict-profile
  client's) needs ``Authorization: DPoP`` and a valid proof of the same key for this request
  (method, URL, ``ath``; the verifier userinfo uses), and an unbound one is refused as DPoP; the
  client must still be registered, enabled and allowed the scope now, so taking
  the scope back or disabling the client takes effect at once.
- an official signed in to this provider (the session cookie) holding the ``administrator`` role
  (a local account's role, or a directory group mapped to it: :func:`idp.console.access.check_staff`),
  whose second factor was completed less than :data:`FRESH_SECOND_FACTOR_SECONDS` ago. An
  official may use every area.

A refusal is an :class:`~idp.errors.OAuthError`: 401 ``invalid_token`` (no or a bad token), 403
``insufficient_scope`` (the token lacks the area's scope), 403 ``insufficient_user_authentication``
(no administrator role, or no fresh second factor).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from enum import Enum

from idp.console.access import FRESH_SECONDS, Auditor, Refusal, check_staff
from idp.errors import OAuthError
from idp.oidc.provider import Provider
from idp.oidc.tokens import SELF_CONTAINED
from idp.sessions import SsoSession
from idp.specs.rfc9449_dpop import DpopError
from keys.errors import InvalidToken
from keys.signer import SUPPORTED_ALGORITHMS
from policies.session import session_from_json

ADMINISTRATOR_ROLE = "administrator"
#: How long after completing the second factor an official may use the admin API (the console's).
FRESH_SECOND_FACTOR_SECONDS = FRESH_SECONDS
MAX_TOKEN_LENGTH = 8192


class Area(Enum):
    """The areas of the API, each with its scope."""

    CLIENTS = "admin:clients"
    PEOPLE = "admin:people"
    POLICIES = "admin:policies"
    KEYS = "admin:keys"


ADMIN_SCOPES: tuple[str, ...] = tuple(area.value for area in Area)


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: ``name`` is what the audit trail records as the actor."""

    name: str
    scopes: frozenset[str]
    client_id: str | None = None
    subject_id: str | None = None
    username: str | None = None

    def may(self, area: Area) -> bool:
        return area.value in self.scopes


def _invalid_token(description: str, *, error: str = "invalid_token", scheme: str = "Bearer",
                   headers: dict[str, str] | None = None) -> OAuthError:
    challenge = f'{scheme} realm="admin", error="{error}", error_description="{description}"'
    if scheme == "DPoP":
        challenge += f', algs="{" ".join(SUPPORTED_ALGORITHMS)}"'
    return OAuthError(error, description, status_code=401, headers={"WWW-Authenticate": challenge, **(headers or {})})


@dataclass(frozen=True)
class DpopPresentation:
    """A token presented as ``Authorization: DPoP``: the request's ``DPoP`` header values, its
    method and its URL (the issuer and the path, what the proof's ``htu`` must name)."""

    proofs: list[str]
    method: str
    url: str


def _check_binding(provider: Provider, token: str, jkt: str | None, dpop: DpopPresentation | None) -> None:
    """The token's presentation fits its binding (RFC 9449 §7.1), or an ``invalid_token`` /
    ``invalid_dpop_proof`` refusal with the DPoP challenge."""
    if dpop is None:
        if jkt:
            raise _invalid_token("a DPoP-bound access token must be presented with a DPoP proof", scheme="DPoP")
        return
    if not jkt:
        raise _invalid_token("the access token is not DPoP-bound", scheme="DPoP")
    try:
        proof = provider.dpop.verify(dpop.proofs, method=dpop.method, url=dpop.url, access_token=token)
    except DpopError as exc:
        raise _invalid_token(exc.description or exc.error, error=exc.error, scheme="DPoP",
                             headers=exc.headers) from None
    if not hmac.compare_digest(proof.jkt, jkt):
        raise _invalid_token("the DPoP proof was signed by another key than the token is bound to", scheme="DPoP")


def unauthenticated() -> OAuthError:
    """No credentials at all: 401 with the Bearer challenge (RFC 6750 §3.1)."""
    return OAuthError("invalid_token", "an access token with an admin:* scope, or an administrator's session, "
                      "is required", status_code=401, headers={"WWW-Authenticate": 'Bearer realm="admin"'})


def insufficient_scope(area: Area) -> OAuthError:
    return OAuthError("insufficient_scope", f"this operation needs the scope {area.value}", status_code=403,
                      headers={"WWW-Authenticate": f'Bearer realm="admin", error="insufficient_scope", '
                                                   f'scope="{area.value}"'})


def caller_of_token(provider: Provider, token: str, dpop: DpopPresentation | None = None) -> Caller:
    """The relying party behind a ``client_credentials`` access token, with the admin scopes both
    the token and the client's registration hold now; 401 otherwise. ``dpop``: the token came as
    ``Authorization: DPoP`` (None: as Bearer)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise _invalid_token("the access token is malformed")
    try:
        info = provider.tokens.check_access_token(token)
    except InvalidToken:
        raise _invalid_token("the access token is not valid") from None
    if info.subject_id is not None or info.grant_id is not None or not info.jti.startswith(SELF_CONTAINED):
        raise _invalid_token("the admin API takes a client's own (client_credentials) access token")
    jkt = (info.cnf or {}).get("jkt")
    if info.cnf and not isinstance(jkt, str):  # bound some other way: nothing here can check it
        raise _invalid_token("the access token is bound to a key this API cannot check")
    _check_binding(provider, token, jkt if isinstance(jkt, str) else None, dpop)
    client = provider.find_client(info.client_id)
    if client is None:
        raise _invalid_token("the client of this access token is no longer registered or is disabled")
    scopes = frozenset(info.scopes) & frozenset(client.scopes) & frozenset(ADMIN_SCOPES)
    return Caller(name=f"client:{client.client_id}", scopes=scopes, client_id=client.client_id)


class SessionRefusal(Enum):
    NOT_ADMINISTRATOR = "not_administrator"
    NO_SECOND_FACTOR = "no_second_factor"
    SECOND_FACTOR_NOT_FRESH = "second_factor_not_fresh"


def caller_of_session(provider: Provider, session: SsoSession, *, now: float | None = None
                      ) -> Caller | SessionRefusal:
    """The official of this session when they may administer, else why not."""
    verdict = check_staff(provider, session, ADMINISTRATOR_ROLE)
    if verdict in (Refusal.NEEDS_MFA, Refusal.NO_SECOND_FACTOR):
        return SessionRefusal.NO_SECOND_FACTOR
    if not isinstance(verdict, Auditor):
        return SessionRefusal.NOT_ADMINISTRATOR
    login = session_from_json(session.policy).login if session.policy else None
    current = time.time() if now is None else now
    if login is None or current - login.at > FRESH_SECOND_FACTOR_SECONDS:
        return SessionRefusal.SECOND_FACTOR_NOT_FRESH
    return Caller(name=f"official:{verdict.username}", scopes=frozenset(ADMIN_SCOPES),
                  subject_id=verdict.subject_id, username=verdict.username)


def session_refused(why: SessionRefusal) -> OAuthError:
    text = {
        SessionRefusal.NOT_ADMINISTRATOR: "the signed-in account does not hold the administrator role",
        SessionRefusal.NO_SECOND_FACTOR: "sign in with your second factor to use the admin API",
        SessionRefusal.SECOND_FACTOR_NOT_FRESH: (
            f"your second factor is older than {FRESH_SECOND_FACTOR_SECONDS // 60} minutes: sign in again"),
    }[why]
    return OAuthError("insufficient_user_authentication", text, status_code=403)
