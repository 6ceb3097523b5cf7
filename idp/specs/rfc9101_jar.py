"""Signed request objects (JAR, RFC 9101 §4-6; OIDC Core §6.1), by value and through PAR.

Choices:
- only signed objects, verified with the client's registered keys (:class:`ClientKeys`): asymmetric
  algorithms (ES256/PS256 under the strict profile), never ``none`` (§10.2 leaves it to us);
- ``typ`` absent, ``JWT`` or ``oauth-authz-req+jwt`` (§4, §10.8);
- ``client_id`` inside MUST equal the client's; ``iss``, when present, too; ``aud`` MUST name this
  issuer (§10.2); ``exp`` is required and at most an hour ahead;
- the authorization request is made of the object's members ONLY: parameters outside it are
  ignored (§5: "the authorization server MUST only use the parameters in the Request Object");
- a ``request`` or ``request_uri`` member inside the object is refused.
"""

from __future__ import annotations

import json
import time
from typing import Any

from idp.errors import OAuthError
from idp.specs.ports import RequestObjectContext
from idp.specs.profile import signing_algorithms
from idp.storage.models import Client
from keys.errors import InvalidToken
from keys.verify import check_time_claims

REQUEST_OBJECT_TYPES = ("JWT", "oauth-authz-req+jwt")
JWT_CLAIMS = ("iss", "aud", "exp", "iat", "nbf", "jti", "sub")
MAX_LIFETIME_SECONDS = 3600


def _as_parameter(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        raise OAuthError("invalid_request_object", "a request object member has an unusable value")
    if isinstance(value, int | float):
        return str(int(value))
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def request_object_parameters(provider: RequestObjectContext, client: Client,
                              request_object: str) -> dict[str, list[str]]:
    """The authorization parameters of a verified request object; ``invalid_request_object`` otherwise."""
    try:
        header, claims = provider.client_keys.verify(client, request_object,
                                                     algorithms=signing_algorithms(provider.settings, client))
        check_time_claims(claims)
    except InvalidToken as exc:
        raise OAuthError("invalid_request_object", f"the request object was refused ({exc.reason})") from None
    typ = header.get("typ")
    if typ is not None and str(typ).removeprefix("application/").lower() not in [t.lower()
                                                                                 for t in REQUEST_OBJECT_TYPES]:
        raise OAuthError("invalid_request_object", "typ must be oauth-authz-req+jwt")
    if claims.get("client_id") != client.client_id or claims.get("iss", client.client_id) != client.client_id:
        raise OAuthError("invalid_request_object", "client_id and iss must be the client's")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if provider.issuer not in audiences:
        raise OAuthError("invalid_request_object", "aud must be this issuer")
    if claims["exp"] > time.time() + MAX_LIFETIME_SECONDS:
        raise OAuthError("invalid_request_object", "exp is too far ahead")
    if "request" in claims or "request_uri" in claims:
        raise OAuthError("invalid_request_object", "a request object cannot contain request or request_uri")
    return {name: [_as_parameter(value)] for name, value in claims.items() if name not in JWT_CLAIMS}
