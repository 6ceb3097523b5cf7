"""``/admin/``: the admin API (JSON), described by ``GET /admin/openapi.json``.

- clients (``admin:clients``): list, create, read, update (redirect URIs, keys... with the checks
  of a registration), disable, enable, rotate the secret, delete;
- people (``admin:people``): search local accounts by username or name, read, disable, enable,
  reset the password, reset two-step verification; end every session and revoke every token of
  a person;
- policies (``admin:policies``): read the policies in force, validate a new document, activate a
  new version, roll back to the one before (:mod:`idp.admin.policies`);
- signing keys (``admin:keys``): list, rotate, retire.

Who may call (see :mod:`idp.admin.access`): a client's own ``client_credentials`` token with the
area's scope, or an official's session with the administrator role and a fresh second factor
(then only from this origin for anything but GET). Every call is audited with the caller: a
change by its service's event (``client.changed``, ``account.changed``... with ``actor`` and the
fields before and after), a read, a key operation or a validation as ``admin.action``, a refusal
of a known caller as ``admin.action`` with outcome ``denied``. Errors are JSON
(``{"error", "error_description"}``); the router parses and calls the services only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.openapi.utils import get_openapi
from starlette.responses import JSONResponse, Response

from adapters.base import SourceUnavailable
from idp.accounts.administration import account_view
from idp.accounts.passwords import PasswordRejected
from idp.admin.access import (
    ADMIN_SCOPES,
    Area,
    Caller,
    DpopPresentation,
    SessionRefusal,
    caller_of_session,
    caller_of_token,
    insufficient_scope,
    session_refused,
    unauthenticated,
)
from idp.admin.policies import PolicyChangeRefused
from idp.admin.schemas import (
    AccountOut,
    ClientCreate,
    ClientOut,
    ClientPatch,
    ClientWithSecret,
    ErrorOut,
    FactorsResetOut,
    KeyOut,
    KeyRotate,
    PasswordReset,
    PasswordResetOut,
    PersonOut,
    PolicyActivate,
    PolicyChangeOut,
    PolicyCheck,
    PolicyCheckOut,
    PolicyOut,
    RevokedOut,
    RotationOut,
    SecretOut,
)
from idp.admin.services import AdminServices
from idp.audit.types import ADMIN_ACTION, DENIED
from idp.clients.changes import ClientUpdate
from idp.clients.metadata import InvalidClientMetadata
from idp.clients.service import DEFAULT_SCOPES, client_as_json
from idp.endpoints.common import current_session, provider_of
from idp.errors import AlreadyExists, NotFound, OAuthError
from idp.oidc.provider import Provider
from idp.web.context import audit_context
from idp.web.csrf import same_origin
from keys.errors import KeysError, RotationRefused
from policies.document import PolicyError, parse_policy

router = APIRouter(prefix="/admin", tags=["admin"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text} for status, text in (
        (400, "invalid request (nothing changed)"), (401, "no or invalid credentials"),
        (403, "insufficient_scope, or an official without the role or a fresh second factor"),
        (404, "no such record"), (409, "conflicts with the current state"))}
T = TypeVar("T")


# --- who is calling -------------------------------------------------------------------------------

def caller(request: Request) -> Caller:
    """The authenticated caller (token or administrator session), or 401/403."""
    provider = provider_of(request)
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "dpop":
            return caller_of_token(provider, token.strip(), DpopPresentation(
                request.headers.getlist("dpop"), request.method, provider.issuer + request.url.path))
        if scheme.lower() != "bearer":
            raise unauthenticated()
        return caller_of_token(provider, token.strip())
    session = current_session(request)
    if session is None:
        raise unauthenticated()
    verdict = caller_of_session(provider, session)
    if isinstance(verdict, SessionRefusal):
        _refused(request, provider, subject=session.subject_id, username=session.username, reason=verdict.value)
        raise session_refused(verdict)
    if request.method not in SAFE_METHODS and not same_origin(request):
        _refused(request, provider, subject=session.subject_id, username=session.username, reason="cross_origin")
        raise OAuthError("access_denied", "a change with a session must come from this provider's own pages",
                         status_code=403)
    return verdict


def _refused(request: Request, provider: Provider, *, reason: str, subject: str | None = None,
             username: str | None = None, client_id: str | None = None) -> None:
    provider.record(ADMIN_ACTION, context=audit_context(request), outcome=DENIED, reason=reason, subject=subject,
                    username=username, client_id=client_id,
                    details={"action": "admin.refused", "method": request.method, "path": request.url.path[:256]})


def _area(area: Area) -> Callable[[Request], Caller]:
    def allowed(request: Request) -> Caller:
        who = caller(request)
        if not who.may(area):
            _refused(request, provider_of(request), reason="insufficient_scope", client_id=who.client_id,
                     subject=who.subject_id, username=who.username)
            raise insufficient_scope(area)
        return who

    return allowed


Clients = Annotated[Caller, Depends(_area(Area.CLIENTS))]
People = Annotated[Caller, Depends(_area(Area.PEOPLE))]
Policies = Annotated[Caller, Depends(_area(Area.POLICIES))]
Keys = Annotated[Caller, Depends(_area(Area.KEYS))]


def _audit_read(request: Request, who: Caller, action: str, **details: Any) -> None:
    provider_of(request).record(ADMIN_ACTION, context=audit_context(request), client_id=who.client_id,
                                subject=who.subject_id, username=who.username,
                                details={"action": action, "actor": who.name, **details})


def _answer(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=NO_STORE)


def _calling(fn: Callable[[], T]) -> T:
    """Run a service call, turning its refusals into the API's errors."""
    try:
        return fn()
    except NotFound as exc:
        raise OAuthError("not_found", str(exc), status_code=404) from None
    except AlreadyExists as exc:
        raise OAuthError("conflict", str(exc), status_code=409) from None
    except InvalidClientMetadata as exc:
        raise OAuthError("invalid_client_metadata", str(exc)) from None
    except PasswordRejected as exc:
        raise OAuthError("invalid_request", str(exc)) from None
    except PolicyError as exc:
        raise OAuthError("invalid_request", str(exc)) from None
    except PolicyChangeRefused as exc:
        raise OAuthError("conflict", str(exc), status_code=409) from None
    except RotationRefused as exc:
        raise OAuthError("conflict", str(exc), status_code=409) from None
    except KeysError as exc:
        raise OAuthError("not_found", str(exc), status_code=404) from None
    except SourceUnavailable:
        raise OAuthError("temporarily_unavailable", "a directory could not be asked; try again",
                         status_code=503) from None


# --- clients --------------------------------------------------------------------------------------

def _services(request: Request) -> AdminServices:
    return AdminServices(provider_of(request))


def _client_body(client: Any, secret: str | None = None) -> dict[str, Any]:
    return {"disabled": False, **client_as_json(client, secret)}


def _granting_admin_scopes(who: Caller, scopes: list[str] | None) -> None:
    """An ``admin:*`` scope may be granted only by a caller holding it (no escalation)."""
    for scope in scopes or ():
        if scope.startswith("admin:") and (scope not in ADMIN_SCOPES or scope not in who.scopes):
            raise OAuthError("invalid_client_metadata", f"scope {scope!r} cannot be granted by this caller")


@router.get("/clients", response_model=list[ClientOut], responses=ERRORS)
def list_clients(request: Request, who: Clients) -> JSONResponse:
    clients = _services(request).list_clients()
    _audit_read(request, who, "admin.clients.list")
    return _answer([_client_body(c) for c in clients])


@router.post("/clients", status_code=201, response_model=ClientWithSecret, responses=ERRORS)
def create_client(request: Request, who: Clients, body: ClientCreate) -> JSONResponse:
    scopes = body.scope if body.scope is not None else list(DEFAULT_SCOPES)
    _granting_admin_scopes(who, scopes)
    extra: dict[str, Any] = {}
    if body.jwks is not None:
        extra["jwks"] = body.jwks.model_dump()
    if body.jwks_uri is not None:
        extra["jwks_uri"] = body.jwks_uri
    for flag in ("require_pushed_authorization_requests", "strict_profile"):
        if getattr(body, flag):
            extra[flag] = True

    client, secret = _calling(lambda: _services(request).create_client(
        body.client_id, redirect_uris=body.redirect_uris, post_logout_redirect_uris=body.post_logout_redirect_uris,
        auth_method=body.token_endpoint_auth_method, grant_types=body.grant_types, scopes=scopes,
        name=body.client_name, trusted=body.trusted, extra=extra, actor=who.name))
    return _answer(_client_body(client, secret), 201)


@router.get("/clients/{client_id}", response_model=ClientOut, responses=ERRORS)
def read_client(request: Request, who: Clients, client_id: str) -> JSONResponse:
    client = _calling(lambda: _services(request).clients.get(client_id))
    _audit_read(request, who, "admin.clients.read", client=client_id)
    return _answer(_client_body(client))


@router.patch("/clients/{client_id}", response_model=ClientOut, responses=ERRORS)
def update_client(request: Request, who: Clients, client_id: str, body: ClientPatch) -> JSONResponse:
    _granting_admin_scopes(who, body.scope)
    update = ClientUpdate(
        name=body.client_name, redirect_uris=body.redirect_uris,
        post_logout_redirect_uris=body.post_logout_redirect_uris, grant_types=body.grant_types,
        scopes=body.scope, trusted=body.trusted,
        jwks=body.jwks.model_dump() if body.jwks is not None else None, jwks_uri=body.jwks_uri,
        clear_keys=body.clear_keys, require_pushed_authorization_requests=body.require_pushed_authorization_requests,
        strict_profile=body.strict_profile)
    change = _calling(lambda: _services(request).clients.update(
        client_id, update, actor=who.name, context=audit_context(request)))
    return _answer(_client_body(change.after))


@router.post("/clients/{client_id}/disable", response_model=ClientOut, responses=ERRORS)
def disable_client(request: Request, who: Clients, client_id: str) -> JSONResponse:
    change = _calling(lambda: _services(request).clients.set_enabled(
        client_id, False, actor=who.name, context=audit_context(request)))
    return _answer(_client_body(change.after))


@router.post("/clients/{client_id}/enable", response_model=ClientOut, responses=ERRORS)
def enable_client(request: Request, who: Clients, client_id: str) -> JSONResponse:
    change = _calling(lambda: _services(request).clients.set_enabled(
        client_id, True, actor=who.name, context=audit_context(request)))
    return _answer(_client_body(change.after))


@router.post("/clients/{client_id}/secret", response_model=SecretOut, responses=ERRORS)
def rotate_client_secret(request: Request, who: Clients, client_id: str) -> JSONResponse:
    change = _calling(lambda: _services(request).clients.rotate_secret(
        client_id, actor=who.name, context=audit_context(request)))
    return _answer({"client_id": client_id, "client_secret": change.secret})


@router.delete("/clients/{client_id}", status_code=204, responses=ERRORS)
def delete_client(request: Request, who: Clients, client_id: str) -> Response:
    if not _services(request).remove_client(client_id, actor=who.name):
        raise OAuthError("not_found", f"no client {client_id[:255]!r}", status_code=404)
    return Response(status_code=204, headers=NO_STORE)


# --- people ---------------------------------------------------------------------------------------

#: Search text: no control characters (a NUL cannot reach a PostgreSQL query; a 400 instead).
SEARCH_TEXT = r"^[^\x00-\x1f\x7f]*$"

@router.get("/accounts", response_model=list[AccountOut], responses=ERRORS)
def search_accounts(request: Request, who: People,
                    q: Annotated[str, Query(max_length=255, pattern=SEARCH_TEXT,
                                            description="part of a username or a name")] = ""
                    ) -> JSONResponse:
    found = _services(request).accounts.find(q)
    _audit_read(request, who, "admin.accounts.search", query_length=len(q), returned=len(found))
    return _answer([account_view(a) for a in found])


@router.get("/people", response_model=list[PersonOut], responses=ERRORS)
def search_people(request: Request, who: People,
                  q: Annotated[str, Query(max_length=255, pattern=SEARCH_TEXT, description=(
                      "part of a name or a local username; or a personal ID number (all digits), found "
                      "exactly through its keyed hash"))] = "") -> JSONResponse:
    """Every person the provider knows: local accounts, citizens and officials linked from an
    upstream or a directory. The audit event records how the search was made and the query's
    length, never the query."""
    how, found = _services(request).search.find(q)
    _audit_read(request, who, "admin.people.search", by=how, query_length=len(q), returned=len(found))
    return _answer([dataclasses.asdict(person) for person in found])


@router.get("/accounts/{username}", response_model=AccountOut, responses=ERRORS)
def read_account(request: Request, who: People, username: str) -> JSONResponse:
    account = _calling(lambda: _services(request).accounts.get(username))
    _audit_read(request, who, "admin.accounts.read", username=account.username)
    return _answer(account_view(account))


@router.post("/accounts/{username}/disable", response_model=AccountOut, responses=ERRORS)
def disable_account(request: Request, who: People, username: str) -> JSONResponse:
    """The account can no longer sign in; its sessions end and its tokens are revoked."""
    services = _services(request)
    change = _calling(lambda: services.accounts.set_enabled(
        username, False, actor=who.name, context=audit_context(request)))
    services.people.revoke_all(change.after.subject_id, actor=who.name, context=audit_context(request))
    return _answer(account_view(change.after))


@router.post("/accounts/{username}/enable", response_model=AccountOut, responses=ERRORS)
def enable_account(request: Request, who: People, username: str) -> JSONResponse:
    change = _calling(lambda: _services(request).accounts.set_enabled(
        username, True, actor=who.name, context=audit_context(request)))
    return _answer(account_view(change.after))


@router.post("/accounts/{username}/password", response_model=PasswordResetOut, responses=ERRORS)
def reset_password(request: Request, who: People, username: str, body: PasswordReset) -> JSONResponse:
    change = _calling(lambda: _services(request).accounts.reset_password(
        username, password=body.password, actor=who.name, context=audit_context(request)))
    return _answer({**account_view(change.after), "password": change.password})


@router.delete("/accounts/{username}/second-factor", response_model=AccountOut, responses=ERRORS)
def reset_second_factor(request: Request, who: People, username: str) -> JSONResponse:
    change = _calling(lambda: _services(request).accounts.reset_second_factor(
        username, actor=who.name, context=audit_context(request)))
    return _answer(account_view(change.after))


@router.post("/people/{person}/revoke", response_model=RevokedOut, responses=ERRORS)
def revoke_person(request: Request, who: People, person: str) -> JSONResponse:
    revocation = _services(request).people
    subject = _calling(lambda: revocation.person(person))
    revoked = revocation.revoke_all(subject.id, actor=who.name, context=audit_context(request))
    return _answer({"subject_id": revoked.subject_id, "sessions_ended": revoked.sessions,
                    "grants_revoked": revoked.grants, "backchannel_logouts": revoked.notified})


@router.delete("/people/{person}/second-factor", response_model=FactorsResetOut, responses=ERRORS)
def reset_person_factors(request: Request, who: People, person: str) -> JSONResponse:
    """Remove the person's TOTP authenticator, recovery codes and passkeys (a local account, a
    directory official or an upstream person: a subject id, a local or a directory username)."""
    factors = _services(request).factors
    subject = _calling(lambda: factors.person(person))
    made = factors.reset(subject.id, actor=who.name, context=audit_context(request))
    return _answer({"subject_id": made.subject_id, "holder": made.holder, "totp_removed": made.totp_removed,
                    "recovery_codes_removed": made.recovery_codes_removed,
                    "passkeys_removed": made.passkeys_removed})


# --- policies -------------------------------------------------------------------------------------

def _policy_body(client_id: str | None, policy: Any) -> dict[str, Any]:
    return {"client_id": client_id, "source": policy.source, "digest": policy.digest,
            "document": policy.model_dump(mode="json")}


@router.get("/policies", response_model=list[PolicyOut], responses=ERRORS)
def list_policies(request: Request, who: Policies) -> JSONResponse:
    policies = provider_of(request).policies
    _audit_read(request, who, "admin.policies.list")
    return _answer([_policy_body(None, policies.default),
                    *(_policy_body(cid, p) for cid, p in sorted(policies.policies.items()))])


@router.get("/policies/{client_id}", response_model=PolicyOut, responses=ERRORS)
def read_policy(request: Request, who: Policies, client_id: str) -> JSONResponse:
    policies = provider_of(request).policies
    own = policies.has_own_policy(client_id)
    _audit_read(request, who, "admin.policies.read", client=client_id[:255])
    return _answer(_policy_body(client_id if own else None, policies.for_client(client_id)))


@router.post("/policies/validate", response_model=PolicyCheckOut, responses=ERRORS)
def validate_policy(request: Request, who: Policies, body: PolicyCheck) -> JSONResponse:
    """Check a new version of a policy document as the provider would load it (the configured
    adapters included); nothing is stored."""
    source = f"{body.client_id or 'default'}.yaml"
    try:
        policy = parse_policy(body.document, source, expected_client_id=body.client_id,
                              known_adapters=_services(request).adapter_ids())
    except PolicyError as exc:
        verdict: dict[str, Any] = {"valid": False, "error": exc.reason, "line": exc.line, "field": exc.field}
    else:
        verdict = {"valid": True, "digest": policy.digest}
    _audit_read(request, who, "admin.policies.validate", client=body.client_id, valid=verdict["valid"],
                digest=verdict.get("digest"))
    return _answer(verdict)


@router.post("/policies/{name}/activate", response_model=PolicyChangeOut, responses=ERRORS)
def activate_policy(request: Request, who: Policies, name: str, body: PolicyActivate) -> JSONResponse:
    """Put a new version of the document ``name`` (``default`` or a client id) in force; the one it
    replaces is kept for a rollback. Needs ``IDP_POLICIES_DIR``."""
    change = _calling(lambda: _services(request).activate_policy(name, body.document))
    _audit_read(request, who, "policy.activated", policy=change.name, before=change.before, after=change.after)
    return _answer({"name": change.name, "before": change.before, "after": change.after})


@router.post("/policies/{name}/rollback", response_model=PolicyChangeOut, responses=ERRORS)
def roll_back_policy(request: Request, who: Policies, name: str) -> JSONResponse:
    """Put back the version the last activation of ``name`` replaced."""
    change = _calling(lambda: _services(request).roll_back_policy(name))
    _audit_read(request, who, "policy.rolled_back", policy=change.name, before=change.before, after=change.after)
    return _answer({"name": change.name, "before": change.before, "after": change.after})


# --- signing keys ---------------------------------------------------------------------------------

@router.get("/keys", response_model=list[KeyOut], responses=ERRORS)
def list_keys(request: Request, who: Keys) -> JSONResponse:
    rows = _services(request).signing_keys()
    _audit_read(request, who, "admin.keys.list")
    return _answer(rows)


@router.post("/keys/rotate", response_model=RotationOut, responses=ERRORS)
def rotate_keys(request: Request, who: Keys, body: KeyRotate) -> JSONResponse:
    services = _services(request)
    before = {r["kid"]: r["state"] for r in services.signing_keys()}
    rotation = _calling(lambda: services.rotate_keys(body.alg, force=body.force, actor=who.name))
    after = {r["kid"]: r["state"] for r in services.signing_keys()}
    _audit_read(request, who, "admin.keys.rotate", alg=body.alg, forced=body.force,
                before={k: v for k, v in before.items() if after.get(k) != v},
                after={k: v for k, v in after.items() if before.get(k) != v})
    return _answer({"alg": rotation.alg, "current": rotation.current, "retired": rotation.retired,
                    "next": rotation.next})


@router.post("/keys/{kid}/retire", response_model=KeyOut, responses=ERRORS)
def retire_key(request: Request, who: Keys, kid: str) -> JSONResponse:
    services = _services(request)
    before = {r["kid"]: r["state"] for r in services.signing_keys()}
    if kid not in before:
        raise OAuthError("not_found", f"no signing key {kid[:64]!r}", status_code=404)
    _calling(lambda: services.retire_key(kid, actor=who.name))
    rows = services.signing_keys()
    after = {r["kid"]: r["state"] for r in rows}
    _audit_read(request, who, "admin.keys.retire", kid=kid,
                before={k: v for k, v in before.items() if after.get(k) != v},
                after={k: v for k, v in after.items() if before.get(k) != v})
    return _answer(next(r for r in rows if r["kid"] == kid))


# --- the description ------------------------------------------------------------------------------

def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of this router (built once per process)."""
    document = get_openapi(title="vn-idp admin API", version="1", routes=router.routes,
                           description="Administration of the provincial identity provider. Authenticate with "
                           "a client_credentials access token carrying admin:clients, admin:people, "
                           "admin:policies or admin:keys, or as an administrator with a fresh second factor.")
    document.setdefault("components", {})["securitySchemes"] = {
        "client_credentials": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    document["security"] = [{"client_credentials": []}]
    return document


_DOCUMENT: list[dict[str, Any]] = []


@router.get("/openapi.json", include_in_schema=False)
def openapi(_request: Request) -> JSONResponse:
    if not _DOCUMENT:
        _DOCUMENT.append(openapi_document())
    return JSONResponse(_DOCUMENT[0], headers={"Cache-Control": "no-cache"})
