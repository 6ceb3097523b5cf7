"""Password sign-in against a directory of officials (OpenLDAP or Active Directory).

1. A pooled service-account connection searches ``user_base_dn`` with the user filter, the
   username escaped per RFC 4515 §3 (ldap3.utils.conv.escape_filter_chars); exactly one entry
   must match.
2. A connection of its own binds as that entry's DN with the password (RFC 4513 §5.1.3); an empty
   password is refused before, because a simple bind without one is an unauthenticated bind
   that servers accept (RFC 4513 §5.1.2).
3. The account state is checked (see account_state.py); groups are read (search or memberOf) and
   mapped to roles; attributes are mapped to claims.

Wrong password or unknown user -> InvalidCredentials (one message for both, and one bind for
both: an unknown username binds as a DN that cannot exist, so the directory's work does not tell
which usernames exist); an account that may not sign in -> AccountUnusable(reason=...); the
directory down, slow or refusing TLS -> SourceUnavailable, never a password error.

Two more capabilities (adapters.base): :meth:`LdapAdapter.account_name` gives the one name of the
account a username finds (``uid`` / ``sAMAccountName``, lower case), so failed sign-ins under its
other names (``userPrincipalName``, other case) count against one account; and
:meth:`LdapAdapter.lookup` reads an account again by its ``entryUUID`` / ``objectGUID`` (no
password) when a refresh re-checks it.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ldap3 import LEVEL, SUBTREE, Connection
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from adapters.base import AccountGone, AccountUnusable, Identity, InvalidCredentials, SourceUnavailable
from adapters.config import display_name_for
from adapters.ldap import account_state
from adapters.ldap.config import LdapConfig
from adapters.ldap.connection import DirectoryConnections, close_quietly

log = logging.getLogger("adapters.ldap")
MAX_USERNAME = 256
INVALID_CREDENTIALS = 49
# States that end an account's refresh tokens at a re-check; a lockout after wrong passwords (which
# anyone can cause) or an expired password does not.
ENDS_REFRESH = frozenset({"account_disabled", "account_expired"})


class LdapAdapter:
    """:class:`adapters.base.PasswordAdapter` over a directory."""

    def __init__(self, config: LdapConfig) -> None:
        self.id = config.id
        self.config = config
        self.connections = DirectoryConnections(config)
        self.issuer = config.issuer or config.urls[0]
        self.is_ad = config.directory == "active_directory"
        # Bound for unknown usernames, so they cost what a wrong password costs; random per process.
        self._nobody_dn = f"cn=vn-idp-no-such-account-{secrets.token_hex(12)},{config.user_base_dn}"

    def display_name(self, locale: str) -> str:
        fallback = "Tài khoản công vụ" if locale.startswith("vi") else "Official account"
        return display_name_for(self.config.display_name, locale, fallback)

    def authenticate(self, username: str, password: str) -> Identity:
        """Check the password at the directory; raise InvalidCredentials, AccountUnusable or
        SourceUnavailable."""
        username = username.strip()
        if not _acceptable(username) or not password:
            raise InvalidCredentials()
        try:
            dn, values = self._find_user(username)
        except InvalidCredentials:
            self._bind_as_user(self._nobody_dn, password, {})  # the same work as a known user's bind
            raise
        self._bind_as_user(dn, password, values)
        reason = account_state.ad_state_reason(values) if self.is_ad else account_state.openldap_state_reason(values)
        if reason:
            raise AccountUnusable(reason, reason=reason)
        roles = self._roles(dn, values)
        return self._identity(dn, values, roles)

    def account_name(self, username: str) -> str | None:
        """The account's name (its ``username_attribute``, lower case) for a username it answers
        to, or None: no such account, or the directory cannot say now."""
        username = username.strip()
        if not _acceptable(username):
            return None
        try:
            dn, values = self._find_user(username)
        except (InvalidCredentials, SourceUnavailable):
            return None
        names = values.get((self.config.username_attribute or "").lower()) or [dn]
        return names[0].lower()

    def account_subject(self, username: str) -> str | None:
        """The ``subject_attribute`` value of the account answering to ``username`` (read with the
        service account), or None: no such account; SourceUnavailable when the directory is down."""
        username = username.strip()
        if not _acceptable(username):
            return None
        try:
            _dn, values = self._find_user(username)
        except InvalidCredentials:
            return None
        subject = values.get((self.config.subject_attribute or "").lower())
        return subject[0] if subject else None

    def lookup(self, subject: str) -> Identity:
        """The account with this ``subject_attribute`` value as the directory describes it now,
        read with the service account; raise AccountGone, AccountUnusable (disabled or expired)
        or SourceUnavailable."""
        cfg = self.config
        shape = (cfg.user_filter or "").replace("{username}", "*")  # still the kind of entry that signs in
        search_filter = f"(&{shape}({cfg.subject_attribute}={_filter_value(cfg.subject_attribute or '', subject)}))"
        scope = SUBTREE if cfg.user_scope == "sub" else LEVEL
        entries = self._search(cfg.user_base_dn, search_filter, scope, self._attributes(), 2)
        if len(entries) != 1:
            raise AccountGone()
        dn, values = entries[0]["dn"], _values(entries[0].get("raw_attributes") or {})
        reason = account_state.ad_state_reason(values) if self.is_ad else account_state.openldap_state_reason(values)
        if reason in ENDS_REFRESH:
            raise AccountUnusable(reason, reason=reason)
        return self._identity(dn, values, self._roles(dn, values))

    def close(self) -> None:
        self.connections.close()

    # -- steps ---------------------------------------------------------------------------------

    def _attributes(self) -> list[str]:
        cfg = self.config
        names = {cfg.subject_attribute or "", cfg.username_attribute or "", *cfg.claims.values()}
        names.update(account_state.AD_STATE_ATTRIBUTES if self.is_ad else account_state.OPENLDAP_STATE_ATTRIBUTES)
        if cfg.groups_from == "member_of":
            names.add("memberOf")
        return sorted(n for n in names if n)

    def _search(
        self, base: str, search_filter: str, scope: str, attributes: list[str], limit: int
    ) -> list[dict[str, Any]]:
        for attempt in (1, 2):  # a pooled connection may have been closed by the server: retry once
            try:
                with self.connections.service() as conn:
                    conn.search(base, search_filter, search_scope=scope, attributes=attributes,
                                size_limit=limit, time_limit=self.config.receive_timeout)
                    if conn.closed:
                        raise SourceUnavailable("connection closed")
                    return [r for r in conn.response or [] if r.get("type") == "searchResEntry"]
            except (LDAPException, OSError, SourceUnavailable) as exc:
                self.connections.discard_idle()
                if attempt == 2 or isinstance(exc, SourceUnavailable) and str(exc) == "directory unreachable":
                    raise SourceUnavailable("directory unreachable") from None
        raise SourceUnavailable("directory unreachable")  # pragma: no cover

    def _find_user(self, username: str) -> tuple[str, dict[str, list[str]]]:
        search_filter = (self.config.user_filter or "").replace("{username}", escape_filter_chars(username))
        scope = SUBTREE if self.config.user_scope == "sub" else LEVEL
        entries = self._search(self.config.user_base_dn, search_filter, scope, self._attributes(), 2)
        if len(entries) != 1:
            if entries:
                log.warning("adapter %s: username matches %d entries; refused", self.id, len(entries))
            raise InvalidCredentials()
        entry = entries[0]
        return entry["dn"], _values(entry.get("raw_attributes") or {})

    def _bind_as_user(self, dn: str, password: str, values: Mapping[str, Sequence[str]]) -> None:
        conn: Connection = self.connections.open(dn, password)
        try:
            bound = conn.bind(controls=[(account_state.PPOLICY_OID, False, None)])
            result: dict[str, Any] = dict(conn.result or {})
        except (LDAPException, OSError):
            raise SourceUnavailable("directory unreachable") from None
        finally:
            close_quietly(conn)
        if bound:
            return
        if result.get("result") != INVALID_CREDENTIALS:
            log.warning("adapter %s: bind failed: %s", self.id, result.get("description"))
            if result.get("result") in (51, 52, 53, 80):  # busy, unavailable, unwilling, other
                raise SourceUnavailable("directory refused the bind")
            raise InvalidCredentials()
        if self.is_ad:
            reason = account_state.ad_bind_failure_reason(result.get("message"))
        else:
            control = (result.get("controls") or {}).get(account_state.PPOLICY_OID) or {}
            locked = values.get("pwdaccountlockedtime")
            reason = account_state.ppolicy_failure_reason(control.get("value"), locked[0] if locked else None)
        if reason:
            raise AccountUnusable(reason, reason=reason)
        raise InvalidCredentials()

    def _group_names(self, dn: str, values: Mapping[str, Sequence[str]]) -> list[str]:
        cfg = self.config
        if cfg.groups_from == "member_of":
            group_dns = list(values.get("memberof", ()))
            return [name for name in (_first_rdn_value(g) for g in group_dns) if name]
        if cfg.groups_from == "search" and cfg.group_base_dn:
            search_filter = cfg.group_filter.replace("{dn}", escape_filter_chars(dn))
            entries = self._search(cfg.group_base_dn, search_filter, SUBTREE, [cfg.group_name_attribute], 1000)
            key = cfg.group_name_attribute.lower()
            return [v for e in entries for v in _values(e.get("raw_attributes") or {}).get(key, [])[:1]]
        return []

    def _roles(self, dn: str, values: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
        groups = self._group_names(dn, values)
        if self.config.roles:
            return tuple(sorted({self.config.roles[g] for g in groups if g in self.config.roles}))
        return tuple(sorted(set(groups)))

    def _identity(self, dn: str, values: Mapping[str, Sequence[str]], roles: tuple[str, ...]) -> Identity:
        cfg = self.config
        subject = values.get((cfg.subject_attribute or "").lower())
        if not subject:
            log.error("adapter %s: entry has no %s", self.id, cfg.subject_attribute)
            raise SourceUnavailable("directory entry without a subject identifier")
        claims: dict[str, Any] = {}
        for claim, attribute in cfg.claims.items():
            found = values.get(attribute.lower())
            if found:
                claims[claim] = found[0]
        username = values.get((cfg.username_attribute or "").lower())
        if username:
            claims["preferred_username"] = username[0]
        return Identity(
            subject=subject[0],
            adapter_id=self.id,
            issuer=self.issuer,
            auth_time=int(time.time()),
            amr=("pwd",),
            claims=claims,
            evidence={"dn": dn},
            roles=roles,
        )


def _acceptable(username: str) -> bool:
    return bool(username) and len(username) <= MAX_USERNAME and not any(ord(c) < 32 for c in username)


def _filter_value(attribute: str, value: str) -> str:
    """A subject identifier as a filter value: objectGUID as its 16 bytes (AD compares octets)."""
    if attribute.lower() == "objectguid":
        try:
            return "".join(f"\\{byte:02x}" for byte in uuid.UUID(value).bytes_le)
        except ValueError:
            pass
    escaped: str = escape_filter_chars(value)
    return escaped


def _values(raw: Mapping[str, Sequence[bytes]]) -> dict[str, list[str]]:
    """Attribute values by lower-case name, as text (objectGUID as its UUID string)."""
    out: dict[str, list[str]] = {}
    for name, items in raw.items():
        key = name.lower()
        if key == "objectguid":
            out[key] = [str(uuid.UUID(bytes_le=bytes(v))) for v in items if len(v) == 16]
        else:
            out[key] = [bytes(v).decode("utf-8", "replace") for v in items]
    return out


def _first_rdn_value(dn: str) -> str | None:
    try:
        parts = parse_dn(dn)
    except LDAPException:
        return None
    return parts[0][1] if parts else None
