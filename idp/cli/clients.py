"""``idp clients add|list|show|remove|update|set-jwks|disable|enable|rotate-secret``.

The changes go through :class:`idp.clients.changes.ClientAdministration` (the admin API's service
too); each is recorded with the operator's name (``--operator``, else ``IDP_OPERATOR``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from idp.cli.common import add_operator_argument, operator_of, print_json, read_stdin_secret, storage_from_env
from idp.clients.changes import ClientAdministration, ClientUpdate
from idp.clients.metadata import AUTH_METHODS, GRANT_TYPES, MISSING_KEYS, check_key_metadata
from idp.clients.service import DEFAULT_SCOPES, client_as_json, register_client, remove_client
from idp.errors import NotFound
from idp.oidc.portal_claims import METADATA as CLAIM_NAMES
from idp.oidc.portal_claims import PROFILE as PORTAL_PROFILE
from idp.oidc.portal_claims import PROFILES
from idp.settings import load_settings
from idp.specs.profile import restricted_scope_refusal


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clients = subparsers.add_parser("clients", help="relying parties")
    sub = clients.add_subparsers(dest="clients_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="register a relying party and print it as JSON")
    add.add_argument("client_id")
    add.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    add.add_argument("--post-logout-redirect-uri", action="append", default=[], dest="post_logout_uris")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument("--secret-stdin", action="store_true", help="read the client secret from stdin")
    secret.add_argument("--public", action="store_true", help="a public client (no secret; PKCE only)")
    add.add_argument("--auth-method", choices=AUTH_METHODS)
    add.add_argument("--grant-type", action="append", dest="grant_types")
    add.add_argument("--scope", action="append", dest="scopes")
    add.add_argument("--name")
    add.add_argument("--trusted", action="store_true", help="first-party client: no consent page")
    keys = add.add_mutually_exclusive_group()
    keys.add_argument("--jwks", metavar="FILE", help="the client's public JWK Set (JSON file), for private_key_jwt")
    keys.add_argument("--jwks-uri", metavar="URL", help="where the client publishes its JWK Set (https)")
    add.add_argument("--require-par", action="store_true",
                     help="the client must push its authorization requests (RFC 9126)")
    add.add_argument("--strict-profile", action="store_true",
                     help="the strict profile for this client: PAR, private_key_jwt, DPoP, ES256/PS256")
    add.add_argument("--claim-names", choices=PROFILES, default="standard",
                     help="dvcqg: also the national portal's names (SoDinhDanh, HoVaTen, ...) of the claims "
                     "released, for a service moving from the portal's SSO")
    add_operator_argument(add)
    add.set_defaults(handler=_add)

    sub.add_parser("list", help="list relying parties").set_defaults(handler=_list)
    show = sub.add_parser("show", help="print one relying party")
    show.add_argument("client_id")
    show.set_defaults(handler=_show)
    remove = sub.add_parser("remove", help="remove a relying party with its consents and grants")
    remove.add_argument("client_id")
    add_operator_argument(remove)
    remove.set_defaults(handler=_remove)
    _register_changes(sub)


def _register_changes(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    update = sub.add_parser("update", help="change a relying party (each option given replaces that field)")
    update.add_argument("client_id")
    update.add_argument("--name")
    update.add_argument("--redirect-uri", action="append", dest="redirect_uris",
                        help="the complete list of redirect URIs (repeat the option)")
    update.add_argument("--post-logout-redirect-uri", action="append", dest="post_logout_uris")
    update.add_argument("--grant-type", action="append", dest="grant_types", choices=GRANT_TYPES)
    update.add_argument("--scope", action="append", dest="scopes", help="the complete list of allowed scopes")
    update.add_argument("--trusted", action=argparse.BooleanOptionalAction, help="first-party client: no consent")
    update.add_argument("--require-par", action=argparse.BooleanOptionalAction)
    update.add_argument("--strict-profile", action=argparse.BooleanOptionalAction)
    update.add_argument("--claim-names", choices=PROFILES,
                        help="dvcqg: also the national portal's names of the claims released; standard: only "
                        "the standard names")
    add_operator_argument(update)
    update.set_defaults(handler=_update)

    set_jwks = sub.add_parser("set-jwks", help="replace the public keys of a private_key_jwt client")
    set_jwks.add_argument("client_id")
    source = set_jwks.add_mutually_exclusive_group(required=True)
    source.add_argument("--jwks", metavar="FILE", help="the client's public JWK Set (JSON file)")
    source.add_argument("--jwks-uri", metavar="URL", help="where the client publishes its JWK Set (https)")
    add_operator_argument(set_jwks)
    set_jwks.set_defaults(handler=_set_jwks)

    for action, enabled in (("disable", False), ("enable", True)):
        change = sub.add_parser(action, help="refuse every sign-in and token request of a client" if not enabled
                                else "let a disabled client in again")
        change.add_argument("client_id")
        add_operator_argument(change)
        change.set_defaults(handler=_set_enabled, enabled=enabled)

    rotate = sub.add_parser("rotate-secret", help="give a client a new secret (the old one stops working at once)")
    rotate.add_argument("client_id")
    rotate.add_argument("--secret-stdin", action="store_true", help="read the new secret from stdin")
    add_operator_argument(rotate)
    rotate.set_defaults(handler=_rotate_secret)


def _add(args: argparse.Namespace) -> int:
    if args.grant_types:
        unknown = [g for g in args.grant_types if g not in GRANT_TYPES]
        if unknown:
            raise ValueError(f"unknown grant type {unknown[0]!r} ({', '.join(GRANT_TYPES)})")
    auth_method = args.auth_method or ("none" if args.public else "client_secret_basic")
    if args.public and auth_method != "none":
        raise ValueError("--public clients use --auth-method none")
    scopes = args.scopes or DEFAULT_SCOPES
    extra = _profile_metadata(args)
    why = restricted_scope_refusal(scopes, auth_method, extra)
    if why:
        raise ValueError(f"{why} (--auth-method private_key_jwt with --jwks FILE or --jwks-uri URL, and "
                         "--require-par or --strict-profile)")
    secret = read_stdin_secret("client secret") if args.secret_stdin else None
    storage = storage_from_env()
    try:
        client, clear_secret = register_client(
            storage,
            args.client_id,
            redirect_uris=args.redirect_uris,
            post_logout_redirect_uris=args.post_logout_uris,
            auth_method=auth_method,
            secret=secret,
            grant_types=args.grant_types or ("authorization_code", "refresh_token"),
            scopes=scopes,
            name=args.name,
            trusted=args.trusted,
            extra=extra,
            actor=operator_of(args),
        )
    finally:
        storage.close()
    print_json(client_as_json(client, clear_secret if not args.secret_stdin else None))
    return 0


def _profile_metadata(args: argparse.Namespace) -> dict[str, Any]:
    """The client metadata of ``--jwks``, ``--jwks-uri``, ``--require-par`` and ``--strict-profile``,
    with the keys checked as dynamic registration checks them."""
    extra: dict[str, Any] = {}
    if args.jwks:
        extra["jwks"] = _read_jwks(args.jwks)
    if args.jwks_uri:
        extra["jwks_uri"] = args.jwks_uri
    if args.require_par:
        extra["require_pushed_authorization_requests"] = True
    if args.strict_profile:
        extra["strict_profile"] = True
    if args.claim_names == PORTAL_PROFILE:
        extra[CLAIM_NAMES] = PORTAL_PROFILE
    auth_method = args.auth_method or "client_secret_basic"
    if auth_method == "private_key_jwt" and "jwks" not in extra and "jwks_uri" not in extra:
        raise ValueError(f"{MISSING_KEYS} (--jwks FILE or --jwks-uri URL)")
    if extra.get("jwks") is not None or extra.get("jwks_uri") is not None or auth_method == "private_key_jwt":
        check_key_metadata(auth_method, extra, allow_loopback=load_settings().allow_loopback_client_urls)
    return extra


def _read_jwks(path: str) -> dict[str, Any]:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"--jwks {path}: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"--jwks {path}: not a JWK Set (a JSON object with keys)")
    return value


def _list(_args: argparse.Namespace) -> int:
    storage = storage_from_env()
    try:
        print_json([client_as_json(c) for c in storage.clients.list()])
    finally:
        storage.close()
    return 0


def _show(args: argparse.Namespace) -> int:
    storage = storage_from_env()
    try:
        client = storage.clients.get(args.client_id)
    finally:
        storage.close()
    if client is None:
        raise NotFound(f"no client {args.client_id!r}")
    print_json(client_as_json(client))
    return 0


def _remove(args: argparse.Namespace) -> int:
    storage = storage_from_env()
    try:
        removed = remove_client(storage, args.client_id, actor=operator_of(args))
    finally:
        storage.close()
    if not removed:
        raise NotFound(f"no client {args.client_id!r}")
    print(f"removed client {args.client_id}")
    return 0


def _administration(storage: Any) -> ClientAdministration:
    return ClientAdministration(storage, allow_loopback=load_settings().allow_loopback_client_urls)


def _update(args: argparse.Namespace) -> int:
    update = ClientUpdate(
        name=args.name, redirect_uris=args.redirect_uris, post_logout_redirect_uris=args.post_logout_uris,
        grant_types=args.grant_types, scopes=args.scopes, trusted=args.trusted,
        require_pushed_authorization_requests=args.require_par, strict_profile=args.strict_profile,
        claim_names=args.claim_names,
    )
    storage = storage_from_env()
    try:
        change = _administration(storage).update(args.client_id, update, actor=operator_of(args))
    finally:
        storage.close()
    print_json(client_as_json(change.after))
    return 0


def _set_jwks(args: argparse.Namespace) -> int:
    update = ClientUpdate(jwks=_read_jwks(args.jwks)) if args.jwks else ClientUpdate(jwks_uri=args.jwks_uri)
    storage = storage_from_env()
    try:
        change = _administration(storage).update(args.client_id, update, actor=operator_of(args))
    finally:
        storage.close()
    print_json(client_as_json(change.after))
    return 0


def _set_enabled(args: argparse.Namespace) -> int:
    storage = storage_from_env()
    try:
        change = _administration(storage).set_enabled(args.client_id, args.enabled, actor=operator_of(args))
    finally:
        storage.close()
    print_json(client_as_json(change.after))
    return 0


def _rotate_secret(args: argparse.Namespace) -> int:
    secret = read_stdin_secret("client secret") if args.secret_stdin else None
    storage = storage_from_env()
    try:
        change = _administration(storage).rotate_secret(args.client_id, secret=secret, actor=operator_of(args))
    finally:
        storage.close()
    body = {"client_id": change.after.client_id}
    if not args.secret_stdin:
        body["client_secret"] = change.secret or ""
    print_json(body)
    return 0
