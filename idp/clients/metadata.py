"""Validation of client metadata (redirect URIs, grant types, auth methods).

Redirect URIs (OAuth 2.0 Security BCP, RFC 9700 §4.1): absolute, no fragment, ``https`` except
for loopback hosts (``http://127.0.0.1``, ``http://[::1]``, ``http://localhost``); private-use
schemes (``com.example.app:/cb``) allowed for native apps. Matching is exact string comparison.

URLs the server itself requests (:data:`FETCHED_URIS`): a host written as an IP address that the
outbound policy (:mod:`idp.net.outbound`) would refuse is refused at registration already; host
names are not resolved here (the address check at fetch time covers them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from idp.errors import IdpError
from idp.net.hosts import host_address
from idp.settings import is_loopback_host

if TYPE_CHECKING:
    from idp.net.outbound import OutboundPolicy

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
# The metadata URLs the server fetches or posts to (idp.clients.jwks, idp.oidc.backchannel).
FETCHED_URIS = ("jwks_uri", "backchannel_logout_uri")


#: The refusal of a ``private_key_jwt`` client registered without a way to check its assertions.
MISSING_KEYS = ("private_key_jwt needs the client's public keys, and neither is given: jwks (its JWK Set) "
                "or jwks_uri (the https URL where it publishes them)")


#: ``Client.extra`` flag of a client an administrator disabled (idp.clients.changes).
DISABLED = "disabled"


def is_disabled(extra: Mapping[str, object]) -> bool:
    """Whether a client with this ``extra`` metadata was disabled by an administrator."""
    return extra.get(DISABLED) is True


class InvalidClientMetadata(ValueError, IdpError):
    """Metadata a client may not register; the message names the field and the reason."""


def check_redirect_uri(uri: str, field: str = "redirect_uri") -> str:
    parts = urlsplit(uri)
    if not parts.scheme:
        raise InvalidClientMetadata(f"{field} {uri!r} must be an absolute URI")
    if parts.fragment or "#" in uri:
        raise InvalidClientMetadata(f"{field} {uri!r} must not contain a fragment")
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise InvalidClientMetadata(f"{field} {uri!r} must name a host")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise InvalidClientMetadata(f"{field} {uri!r} must use https (http only for loopback hosts)")
        if parts.username or parts.password:
            raise InvalidClientMetadata(f"{field} {uri!r} must not carry credentials")
    elif parts.scheme in ("javascript", "data", "file", "vbscript"):
        raise InvalidClientMetadata(f"{field} {uri!r} uses a forbidden scheme")
    elif "." not in parts.scheme:
        raise InvalidClientMetadata(f"{field} {uri!r}: private-use schemes must be reverse domain names")
    return uri


def check_uri_list(uris: Iterable[str], field: str) -> tuple[str, ...]:
    seen: list[str] = []
    for uri in uris:
        check_redirect_uri(uri, field)
        if uri in seen:
            raise InvalidClientMetadata(f"{field} {uri!r} is listed twice")
        seen.append(uri)
    return tuple(seen)


def check_grant_types(grant_types: Iterable[str]) -> tuple[str, ...]:
    result: list[str] = []
    for grant_type in grant_types:
        if grant_type not in GRANT_TYPES:
            raise InvalidClientMetadata(f"grant_type {grant_type!r} is not supported ({', '.join(GRANT_TYPES)})")
        if grant_type in result:
            raise InvalidClientMetadata(f"grant_type {grant_type!r} is listed twice")
        result.append(grant_type)
    return tuple(result)


def check_auth_method(method: str) -> str:
    if method not in AUTH_METHODS:
        raise InvalidClientMetadata(f"auth method {method!r} is not supported ({', '.join(AUTH_METHODS)})")
    return method


def check_key_metadata(auth_method: str, extra: dict[str, Any], *, allow_loopback: bool) -> None:
    """``jwks`` / ``jwks_uri`` (RFC 7591 §2): never both, one of them for ``private_key_jwt``, public
    keys with distinct ``kid`` values, an https ``jwks_uri`` (loopback http only when allowed)."""
    from idp.clients.jwks import check_jwk_set, check_jwks_uri

    jwks, jwks_uri = extra.get("jwks"), extra.get("jwks_uri")
    if jwks is not None and jwks_uri is not None:
        raise InvalidClientMetadata("jwks and jwks_uri cannot both be registered")
    if auth_method == "private_key_jwt" and jwks is None and jwks_uri is None:
        raise InvalidClientMetadata(MISSING_KEYS)
    try:
        if jwks is not None:
            check_jwk_set(jwks)
        if jwks_uri is not None:
            if not isinstance(jwks_uri, str):
                raise ValueError("must be a string")
            check_jwks_uri(jwks_uri, allow_loopback=allow_loopback)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidClientMetadata(f"{'jwks' if jwks is not None else 'jwks_uri'}: {exc}") from None


def check_fetched_uris(extra: Mapping[str, object], policy: OutboundPolicy) -> None:
    """Refuse a :data:`FETCHED_URIS` member whose host is an IP literal (any spelling the resolver
    reads, :func:`idp.net.hosts.host_address`) that ``policy`` refuses; no DNS lookup."""
    for field in FETCHED_URIS:
        uri = extra.get(field)
        if not isinstance(uri, str):
            continue
        try:
            host = urlsplit(uri).hostname
        except ValueError:
            raise InvalidClientMetadata(f"{field}: not a valid URL") from None
        address = host_address(host) if host else None
        why = policy.refusal(address) if address is not None else None
        if why is not None:
            shown = host if host == str(address) else f"{host}, which is {address}"
            raise InvalidClientMetadata(f"{field}: the server will not connect to {shown} ({why})")
