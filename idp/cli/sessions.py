"""``idp sessions revoke --person PERSON``: end every SSO session of a person and revoke every
refresh token and access token issued to them (:mod:`idp.admin.people`).

Sessions and access tokens live in the short-lived store; as ``idp accounts unlock`` does, the
command refuses without ``IDP_REDIS_URL`` (the embedded store lives inside the server process;
the admin API's ``POST /admin/people/{person}/revoke`` reaches it there).
"""

from __future__ import annotations

import argparse

from idp.admin.people import PersonRevocation
from idp.audit.setup import open_audit_log
from idp.cli.common import add_operator_argument, operator_of, print_json
from idp.errors import IdpError
from idp.oidc.revocation import GrantRevoker
from idp.runtime import open_storage
from idp.sessions import SessionStore
from idp.settings import Settings, load_settings
from idp.storage.ephemeral import open_ephemeral_store
from idp.storage.sql import SqlStorage


class RevocationImpossible(IdpError):
    """The sessions are not reachable from this process."""


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("sessions", help="SSO sessions of people")
    sub = group.add_subparsers(dest="sessions_command", metavar="ACTION", required=True)
    revoke = sub.add_parser("revoke", help="end a person's sessions and revoke their tokens")
    revoke.add_argument("--person", required=True, metavar="PERSON",
                        help="the person's subject id, or the username of a local account")
    add_operator_argument(revoke)
    revoke.set_defaults(handler=_revoke)


def person_revocation(settings: Settings, storage: SqlStorage) -> PersonRevocation:
    """The revocation over the servers' short-lived store (Redis); without one, over a store of
    this process: refresh tokens are still revoked, but sessions and access tokens, which live in
    the server process, are not reached."""
    store = open_ephemeral_store(settings.redis_url, settings.redis_prefix)
    audit = open_audit_log(settings, storage.db)
    sessions = SessionStore(store, idle_seconds=settings.session_idle_seconds,
                            absolute_seconds=settings.session_absolute_seconds)
    return PersonRevocation(storage, sessions, GrantRevoker(storage, store, audit), audit)


def _revoke(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.redis_url:
        raise RevocationImpossible(
            "sessions are kept inside the server process when IDP_REDIS_URL is unset; "
            "use the admin API (POST /admin/people/PERSON/revoke) or restart the server")
    storage = open_storage(settings)
    try:
        revocation = person_revocation(settings, storage)
        subject = revocation.person(args.person)
        revoked = revocation.revoke_all(subject.id, actor=operator_of(args))
    finally:
        storage.close()
    print_json({"subject_id": revoked.subject_id, "sessions_ended": revoked.sessions,
                "grants_revoked": revoked.grants})
    return 0
