"""``idp sessions revoke --person PERSON``: end every SSO session of a person, revoke every
refresh token and access token issued to them and tell the relying parties that registered a
back-channel logout URI (:mod:`idp.admin.people`, the admin API's service, over a provider opened
as a server opens it).

Sessions and access tokens live in the short-lived store. With ``IDP_REDIS_URL`` the command
reaches them as the servers do; without it they live inside the server process, so the command
revokes the refresh tokens and sends the logout tokens (one per revoked grant, with the session id
the grant recorded) and says on stderr that the server's sessions and access tokens end at their
timeout (the admin API's ``POST /admin/people/{person}/revoke`` reaches them there). The command
waits for the logout tokens to be delivered (their retries included) before it exits.
"""

from __future__ import annotations

import argparse
import sys

from idp.admin.people import PersonRevocation
from idp.admin.services import AdminServices
from idp.audit.setup import open_audit_log
from idp.cli.common import add_operator_argument, operator_of, print_json
from idp.oidc.revocation import GrantRevoker
from idp.runtime import Runtime
from idp.server import open_provider
from idp.sessions import SessionStore
from idp.settings import Settings, load_settings
from idp.storage.ephemeral import open_ephemeral_store
from idp.storage.sql import SqlStorage


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def _delivery_bound(settings: Settings) -> float:
    """How long every back-channel delivery may take, its attempts and back-off included."""
    attempts = settings.backchannel_logout_attempts
    return float(attempts * settings.backchannel_logout_timeout_seconds
                 + settings.backchannel_logout_backoff_seconds * (2 ** attempts - 1) + 1.0)


def _revoke(args: argparse.Namespace) -> int:
    settings = load_settings()
    runtime = Runtime.open(settings)
    try:
        provider = open_provider(runtime)
    except BaseException:
        runtime.close()
        raise
    try:
        revocation = AdminServices(provider).people
        subject = revocation.person(args.person)
        revoked = revocation.revoke_all(subject.id, actor=operator_of(args))
        delivered = provider.backchannel.drain(_delivery_bound(settings))
    finally:
        provider.close()
        runtime.close()
    if not settings.redis_url:
        print("idp: IDP_REDIS_URL is unset: the sessions and access tokens kept inside the server process were "
              "not reached (they end at their timeout); refresh tokens are revoked", file=sys.stderr)
    if not delivered:
        print("idp: some back-channel logout tokens were not delivered in time (see the logout.backchannel "
              "audit events)", file=sys.stderr)
    print_json({"subject_id": revoked.subject_id, "sessions_ended": revoked.sessions,
                "grants_revoked": revoked.grants, "backchannel_logouts": revoked.notified})
    return 0
