"""The chain that runs the checks of an authorization request in order (see the package's
docstring), and the request they establish."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from idp.errors import OAuthError, PageError
from idp.specs.authorization_checks import (
    claims,
    client,
    par,
    parameters,
    pkce,
    prompt,
    redirect_uri,
    request_object,
    response_type,
    scope,
)
from idp.specs.authorization_checks.checking import Checking
from idp.specs.authorization_request import AuthorizationRequest, RedirectableError
from idp.specs.ports import PushedRequestContext
from idp.storage.models import Client

Check = Callable[[Checking], None]

#: The checks of ``/authorize``, in order.
AUTHORIZE: tuple[Check, ...] = (request_object.resolve, client.check, redirect_uri.check, par.check, parameters.check,
                                response_type.check, scope.check, pkce.check, prompt.check, claims.check)
#: The checks of a request pushed to ``/par`` (RFC 9126 §2.1: validated as /authorize would).
PUSHED: tuple[Check, ...] = tuple(c for c in AUTHORIZE if c not in (request_object.resolve, par.check))


def run(checking: Checking, checks: tuple[Check, ...]) -> AuthorizationRequest:
    """Run ``checks`` in order; the first failure ends the chain: a :class:`PageError` until the
    redirect URI is verified, then a :class:`RedirectableError` for the client."""
    for check in checks:
        try:
            check(checking)
        except RedirectableError:
            raise
        except OAuthError as exc:
            if not checking.redirect_verified:
                raise PageError("invalid_request", status_code=400, detail=exc.description) from None
            raise RedirectableError(exc.error, exc.description, redirect_uri=checking.redirect_uri or "",
                                    state=checking.state, response_mode=checking.response_mode) from None
    return AuthorizationRequest(client_id=checking.known_client.client_id, redirect_uri=checking.redirect_uri or "",
                                state=checking.state, **checking.fields)


def check_authorization(context: PushedRequestContext, params: Mapping[str, list[str]]) -> AuthorizationRequest:
    """The request ``/authorize`` received, checked by :data:`AUTHORIZE`."""
    return run(Checking(dict(params), context, context.find_client), AUTHORIZE)


def check_pushed(context: PushedRequestContext, pusher: Client,
                 params: Mapping[str, list[str]]) -> tuple[AuthorizationRequest, Checking]:
    """A request ``pusher`` pushed, checked by :data:`PUSHED` (only ``pusher`` may be named); the
    request and what the chain established (its redirect URI, state and response mode)."""
    checking = Checking(dict(params), context, lambda cid: pusher if cid == pusher.client_id else None)
    return run(checking, PUSHED), checking
