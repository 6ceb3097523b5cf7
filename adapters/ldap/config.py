"""Configuration of the ``ldap`` adapter (version 1): an OpenLDAP or Active Directory directory.

The user filter is a template with ``{username}``; the value is escaped (RFC 4515 §3) before it
is put in, so input such as ``*)(uid=*`` cannot widen the search. TLS always verifies the
server's certificate and host name (``ca_file`` or the system store); plain ``ldap://`` without
StartTLS is refused unless the host is loopback.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from adapters.base import Adapter
from adapters.config import PASSWORD, PASSWORD_LEVELS, AdapterConfig, AdapterContext, Produces
from idp.settings import is_loopback_host

OPENLDAP_DEFAULTS = {
    "user_filter": "(&(objectClass=inetOrgPerson)(uid={username}))",
    "subject_attribute": "entryUUID",
    "groups_from": "search",
}
AD_DEFAULTS = {
    "user_filter": "(&(objectClass=user)(|(sAMAccountName={username})(userPrincipalName={username})))",
    "subject_attribute": "objectGUID",
    "groups_from": "member_of",
}
DEFAULT_CLAIMS = {
    "name": "cn",
    "family_name": "sn",
    "given_name": "givenName",
    "email": "mail",
    "phone_number": "telephoneNumber",
}


class LdapConfig(AdapterConfig):
    """A directory of officials checked by binding as the user."""

    capabilities: ClassVar[frozenset[str]] = frozenset({PASSWORD})
    config_version: ClassVar[int] = 1

    type: Literal["ldap"]
    directory: Literal["openldap", "active_directory"] = Field(
        default="openldap", description="Server flavour: sets the defaults below and the account-state checks."
    )
    urls: list[str] = Field(min_length=1, description="ldap:// or ldaps:// URLs, tried in order.")
    start_tls: bool = Field(default=False, description="Upgrade ldap:// connections with StartTLS.")
    ca_file: Path | None = Field(default=None, description="CA certificates (PEM) that sign the server's.")
    issuer: str | None = Field(default=None, description="Issuer the identities report. Unset: the first URL.")
    bind_dn: str | None = Field(default=None, description="Service account that searches; unset: anonymous.")
    bind_password: SecretStr | None = None
    bind_password_file: Path | None = Field(default=None, description="File holding the service password.")
    user_base_dn: str
    user_scope: Literal["sub", "one"] = "sub"
    user_filter: str | None = Field(default=None, description="Filter template with {username}.")
    subject_attribute: str | None = Field(default=None, description="Stable, unique id (entryUUID, objectGUID).")
    username_attribute: str | None = Field(
        default=None, description="Attribute given as preferred_username (uid / sAMAccountName)."
    )
    claims: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CLAIMS), description="claim -> attribute.")
    groups_from: Literal["search", "member_of", "none"] | None = None
    group_base_dn: str | None = None
    group_filter: str = Field(default="(&(objectClass=groupOfNames)(member={dn}))", description="{dn}: the user.")
    group_name_attribute: str = "cn"
    roles: dict[str, str] = Field(
        default_factory=dict,
        description="group name -> role. Empty: every group name is a role; otherwise only mapped groups are.",
    )
    connect_timeout: float = Field(default=3.0, gt=0, le=60, description="Seconds to wait for a connection.")
    receive_timeout: int = Field(default=5, ge=1, le=120, description="Seconds to wait for an answer.")
    pool_size: int = Field(default=4, ge=1, le=64, description="Pooled service-account connections.")

    @field_validator("urls")
    @classmethod
    def _check_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
                raise ValueError("must be ldap:// or ldaps:// URLs with a host")
        return urls

    @model_validator(mode="after")
    def _check_consistency(self) -> LdapConfig:
        defaults = AD_DEFAULTS if self.directory == "active_directory" else OPENLDAP_DEFAULTS
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.username_attribute is None:
            name = "sAMAccountName" if self.directory == "active_directory" else "uid"
            object.__setattr__(self, "username_attribute", name)
        if "{username}" not in (self.user_filter or ""):
            raise ValueError("user_filter must contain {username}")
        if self.bind_password is not None and self.bind_password_file is not None:
            raise ValueError("give bind_password or bind_password_file, not both")
        if self.groups_from == "search" and not self.group_base_dn:
            raise ValueError("groups_from: search needs group_base_dn")
        for url in self.urls:
            parts = urlsplit(url)
            if parts.scheme == "ldap" and not self.start_tls and not is_loopback_host(parts.hostname or ""):
                raise ValueError("ldap:// to a non-loopback host needs start_tls: true (or use ldaps://)")
        return self

    def service_password(self) -> str | None:
        if self.bind_password_file is not None:
            return self.bind_password_file.read_text(encoding="utf-8").strip()
        return self.bind_password.get_secret_value() if self.bind_password else None

    def produces(self) -> Produces:
        """The mapped attributes (``claims``), the user name when one is read, and the roles
        (``vn_roles``) when groups are read."""
        claims = set(self.claims)
        if self.username_attribute:
            claims.add("preferred_username")
        if self.groups_from != "none":
            claims.add("vn_roles")
        return Produces(PASSWORD_LEVELS, frozenset(claims))

    def open(self, context: AdapterContext) -> Adapter:
        from adapters.ldap.adapter import LdapAdapter

        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file {self.ca_file} does not exist")
        return LdapAdapter(self)
