"""Settings of the identity provider: one pydantic-settings model, environment prefix ``IDP_``.

Every field carries a description; ``idp settings`` (and the configuration reference in the
README) are generated from them. The embedded default needs no variable at all: SQLite and keys
under ``./var/``, short-lived state in the process.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, get_origin
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from idp.accounts.passwords import meets_owasp
from idp.errors import IdpError
from idp.net.hosts import host_address
from idp.storage.db import Timeouts


class SettingsError(IdpError):
    """A setting has a wrong value; the message names the setting and never echoes its value."""


class Settings(BaseSettings):
    """Configuration of one provider process (every replica of a deployment shares it).

    Every setting ``IDP_<NAME>`` may instead be read from a file named by ``IDP_<NAME>_FILE`` (container
    secrets: :class:`FileSettingsSource`)."""

    model_config = SettingsConfigDict(env_prefix="IDP_", extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then ``IDP_*`` variables, then ``IDP_*_FILE`` files (no .env file, no secrets dir)."""
        return init_settings, env_settings, FileSettingsSource(settings_cls)

    issuer: str = Field(
        default="http://127.0.0.1:8000",
        description="The issuer identifier: an absolute https URL (http only for loopback), "
        "no query or fragment. Every endpoint is served under it.",
    )
    data_dir: Path = Field(
        default=Path("./var"),
        description="Folder for the embedded default's files: SQLite database, key-encryption key.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the durable store: postgresql://user@host/db (psycopg 3) "
        "or sqlite:///path. Unset: an SQLite file under the data folder.",
    )
    database_pool_size: int = Field(
        default=32, ge=1, le=256,
        description="PostgreSQL connections each server worker keeps open, one per request thread (the "
        "worker runs this many blocking calls at once). A deployment opens up to replicas x workers x "
        "(this + IDP_DATABASE_POOL_OVERFLOW) connections: keep that under the server's max_connections.",
    )
    database_pool_overflow: int = Field(
        default=8, ge=0, le=64,
        description="Connections a worker may open above IDP_DATABASE_POOL_SIZE, for its background "
        "writers (audit group commit, SIEM forwarding, key refresh).",
    )
    database_connect_timeout_seconds: int = Field(
        default=5, ge=1, le=60,
        description="Seconds to wait for a PostgreSQL connection to open (libpq connect_timeout).",
    )
    database_statement_timeout_seconds: float = Field(
        default=10, ge=0, le=3600,
        description="Longest a PostgreSQL statement of the server (`idp serve`) may run: the server's "
        "statement_timeout, and a client-side bound one second later (a frozen or unreachable server "
        "is given up and the request answered 503). 0: unbounded. `idp` commands have their own, "
        "IDP_DATABASE_COMMAND_STATEMENT_TIMEOUT_SECONDS.",
    )
    database_command_statement_timeout_seconds: float = Field(
        default=0, ge=0, le=86400,
        description="Longest a PostgreSQL statement of an `idp` command may run (the single DELETE of "
        "`idp audit prune` or `idp retention apply --execute` over months of events may take long), "
        "bounded as IDP_DATABASE_STATEMENT_TIMEOUT_SECONDS bounds the server's. 0: unbounded (a frozen "
        "database then holds the command until it resumes or is interrupted).",
    )
    database_lock_timeout_seconds: float = Field(
        default=5, ge=0, le=3600,
        description="Longest a PostgreSQL statement waits for a lock (the server's lock_timeout); 0: unbounded.",
    )
    database_pool_timeout_seconds: float = Field(
        default=5, gt=0, le=300,
        description="Longest a request waits for a free PostgreSQL connection of its worker's pool.",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db for short-lived state (sessions, codes, replay caches). "
        "Unset: in-process state, fit for one process only.",
    )
    redis_prefix: str = Field(default="idp:", description="Prefix of every Redis key this provider writes.")
    key_encryption_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts software signing keys at rest (urlsafe base64 of 32 bytes). "
        "Unset: read from (or, on first start, generated into) <data_dir>/kek with mode 0600.",
    )
    key_backend: Literal["software", "pkcs11"] = Field(
        default="software",
        description="Where new signing keys are made: `software` (sealed in the database under the "
        "key-encryption key) or `pkcs11` (generated non-extractable inside an HSM token).",
    )
    signing_algorithms: list[str] = Field(
        default_factory=lambda: ["ES256", "RS256"],
        description="JWS algorithms with a signing key (JSON list; ES256 first is the default; "
        "also PS256, EdDSA). Each gets a current and a next key on first start.",
    )
    jwks_max_age_seconds: int = Field(
        default=600,
        ge=0,
        le=86400,
        description="Cache-Control max-age of the JWKS. A next key must be published this long "
        "(plus key_refresh_seconds) before `idp keys rotate` lets it sign.",
    )
    key_refresh_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How often every replica reloads the key ring (picks up rotations).",
    )
    pkcs11_module: Path | None = Field(
        default=None,
        description="Path of the PKCS#11 module library (e.g. /usr/lib/softhsm/libsofthsm2.so); "
        "required when key_backend is pkcs11.",
    )
    pkcs11_token_label: str | None = Field(
        default=None, description="Label of the PKCS#11 token holding the signing keys."
    )
    pkcs11_pin: SecretStr | None = Field(default=None, description="User PIN of the PKCS#11 token.")
    demo: bool = Field(default=False, description="Seed a demo relying party and a demo account.")
    auto_migrate: bool | None = Field(
        default=None,
        description="Upgrade the database schema at start-up. Unset: yes for SQLite, no otherwise "
        "(run `idp db upgrade`).",
    )
    session_idle_seconds: int = Field(default=1800, ge=60, description="SSO session idle timeout.")
    session_absolute_seconds: int = Field(
        default=8 * 3600, ge=300, description="SSO session absolute lifetime."
    )
    code_ttl_seconds: int = Field(default=60, ge=10, le=600, description="Authorization code lifetime.")
    access_token_ttl_seconds: int = Field(default=300, ge=30, le=3600, description="Access token lifetime.")
    id_token_ttl_seconds: int = Field(default=300, ge=30, le=3600, description="ID token lifetime.")
    refresh_token_ttl_seconds: int = Field(
        default=30 * 24 * 3600, ge=300, description="Refresh token (and grant) absolute lifetime."
    )
    pairwise_salt: SecretStr | None = Field(
        default=None,
        description="Secret salt of pairwise subject identifiers. Unset: derived from the "
        "key-encryption key.",
    )
    brand_name: str | None = Field(
        default=None,
        description="Name shown in the header of every page, e.g. \"Cổng xác thực tỉnh Quảng Ninh\". "
        "Unset: \"Cổng xác thực tỉnh\" (Vietnamese) / \"Provincial sign-in\" (English).",
    )
    brand_name_en: str | None = Field(
        default=None,
        description="English name shown in the page header. Unset: the brand name, or \"Provincial "
        "sign-in\" when that is unset too.",
    )
    ui_strict_messages: bool = Field(
        default=False,
        description="Fail (instead of showing the message key) when a page asks for a message that a "
        "catalogue lacks, or a template uses an undefined variable. For tests.",
    )
    policies_dir: Path | None = Field(
        default=None,
        description="Folder of per-client policy documents (<client_id>.yaml and default.yaml; see "
        "policies/examples/). A client without a document gets default.yaml, or no sign-in at all when "
        "the folder has none. Unset: the built-in policy policies/examples/default.yaml for every client "
        "(local accounts, standard scopes, no restricted scope).",
    )
    password_hash_memory_kib: int = Field(
        default=19456,
        ge=8,
        le=1048576,
        description="Memory of one argon2id password hash, in KiB (default OWASP's 19 MiB; one hash at a time "
        "per core). With IDP_PASSWORD_HASH_TIME_COST it must be at least one of OWASP's configurations (47 MiB "
        "for 1 pass, 19 MiB for 2, 12 MiB for 3, 9 MiB for 4, 7 MiB for 5 or more) unless the issuer is "
        "loopback (tests, benchmarks). Stored hashes made at other costs are replaced at the next sign-in.",
    )
    password_hash_time_cost: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Passes of one argon2id password hash (default 2; see IDP_PASSWORD_HASH_MEMORY_KIB).",
    )
    access_log: bool = Field(
        default=False,
        description="Log every HTTP request line (the HTTP server's access log). Off by default: the audit trail "
        "records what matters, and a line per request costs CPU on the hot paths.",
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="Log lines on stderr: `json` (one object per line: time, level, logger, request_id, event) or "
        "`text` (for a terminal). Lines carry no personal data and no secrets.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info",
        description="Least severe log level written.",
    )
    log_events: bool = Field(
        default=False,
        description="One log line (level info) per audit event (sign-in, token, lock ...): its type, outcome, client, "
        "adapter, acr and reason code, never the person. Off by default: the audit trail and its SIEM stream record "
        "every event, and a line each costs CPU on the hot paths (tens of microseconds).",
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535,
        description="Port of the Prometheus metrics endpoint (/metrics), served by `idp serve` apart from the "
        "provider's own port, summed over every worker. Unset: no metrics.",
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address the metrics endpoint listens on (loopback by default: open it to the scraper's "
        "network only).",
    )
    trusted_proxies: list[str] = Field(
        default=[],
        description="Networks of the reverse proxies in front of the provider (JSON list of CIDR, e.g. "
        "[\"10.0.0.0/8\"]). A request from one of them is attributed to the right-most X-Forwarded-For "
        "entry outside these networks (a value that is not an IP address: the connection's address). "
        "Empty: the connection's address, X-Forwarded-For is never read.",
    )
    adapters_file: Path | None = Field(
        default=None,
        description="YAML file listing the identity-source adapters (id, type, version and the "
        "type's settings), validated at start-up. Unset: one `local` password adapter over the "
        "local accounts.",
    )
    trust_file: Path | None = Field(
        default=None,
        description="YAML file of the certificates trusted per purpose (sign_in, documents): roots, "
        "intermediates, key usages, certificate policies mapped to pki-hw/pki-remote, OCSP/CRL revocation "
        "(hard-fail or soft-fail), clock skew; validated at start-up (`idp trust check`). Unset: no "
        "certificate is trusted (a signature can be checked intact, never trusted).",
    )
    login_lock_threshold: int = Field(
        default=20, ge=3, le=100,
        description="Consecutive failed sign-ins after which an account is locked for a while "
        "(NIST SP 800-63B: at most 100).",
    )
    login_lock_seconds: int = Field(
        default=15 * 60, ge=60, le=24 * 3600,
        description="How long an account stays locked after too many failed sign-ins.",
    )
    login_backoff_seconds: int = Field(
        default=1, ge=0, le=60,
        description="Exponential back-off after the 5th consecutive failure for an account: "
        "1, 2, 4 ... times this many seconds (at most 60) before the next attempt. 0 switches it off.",
    )
    webauthn_allowed_aaguids: list[UUID] = Field(
        default=[],
        description="Authenticator models (AAGUIDs, JSON list of UUIDs) a new passkey may come from, for an "
        "agency that requires certified keys: registration then asks for direct attestation and refuses any "
        "other model. Empty: any authenticator (attestation `none`).",
    )
    login_ip_threshold: int = Field(
        default=100, ge=10,
        description="Failed sign-ins from one client address (any account) after which that "
        "address is slowed down and then refused for the lock period.",
    )
    directory_recheck_seconds: int = Field(
        default=300, ge=0, le=3600,
        description="How long a directory account's roles and attributes are trusted between "
        "checks: a refresh token used later reads the account again, and a deleted or disabled "
        "account ends it (`invalid_grant`). 0: at every refresh.",
    )

    report_units_file: Path | None = Field(
        default=None,
        description="CSV file unit_code,unit_name,client_id: the administrative unit (commune) of each service, "
        "for the console's monthly figures (`idp report` takes --units). Unset: every service counts as provincial.",
    )

    audit_ip_truncation: str = Field(
        default="none",
        description="How much of a client address the audit log keeps: `none` (the whole address) or "
        "`<IPv4 bits>/<IPv6 bits>`, for example `24/48`.",
    )
    audit_retention_days: int = Field(
        default=0, ge=0,
        description="Keep audit events this many days: `idp retention apply` prunes older ones, from a signed "
        "checkpoint. 0: kept until pruned by hand (`idp audit prune`).",
    )
    inactive_account_retention_days: int = Field(
        default=0, ge=0,
        description="Erase a person with no sign-in for this many days (profile, links, consents, grants; audited "
        "with the personal ID number only as its keyed hash): `idp retention apply`. People with a local account "
        "are kept. 0: never.",
    )
    audit_checkpoint_interval: int = Field(
        default=1000, ge=0,
        description="Sign an audit checkpoint every this many events (0: only on `idp audit checkpoint`).",
    )
    audit_head_interval_seconds: float = Field(
        default=1.0, ge=0, le=3600,
        description="Move the audit chain's head row at most this often (and at every signed checkpoint); "
        "writers take the chain tip from the newest event. 0: every write. Removing events newer than "
        "the head is not detected from the head, so keep it short.",
    )
    audit_sequencer: bool = Field(
        default=False,
        description="Servers write audit events unlinked with the work they describe and one sequencer per "
        "deployment links them into the chain in batches (docs/audit.md). Off: each write links its events.",
    )
    audit_link_interval_seconds: float = Field(
        default=0.2, gt=0, le=60,
        description="With `IDP_AUDIT_SEQUENCER`, how often a server's sequencer looks for events staged by other "
        "processes (its own wake it at once).",
    )
    audit_link_alarm_seconds: float = Field(
        default=10.0, gt=0,
        description="`idp audit verify` fails when an audit event has waited longer than this to be linked "
        "into the chain.",
    )
    audit_api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the auditor search API (`/audit/events`); unset: the API refuses "
        "every request that does not come from an account with the auditor role.",
    )
    operator: str | None = Field(
        default=None, max_length=128,
        description="Who runs `idp` commands in this environment (a person's name or staff id), recorded "
        "as the actor of their administrator events; `--operator` overrides it. Unset: `cli:<login name>`.",
    )
    audit_siem_url: str | None = Field(
        default=None,
        description="Where audit events are streamed: `syslog+udp://host:port` or `syslog+tcp://host:port` "
        "(RFC 5424) or an http(s) URL (JSON batches by POST). Unset: no streaming.",
    )
    audit_siem_batch: int = Field(default=200, ge=1, le=10000,
                                  description="Most events sent to the SIEM in one batch.")
    audit_siem_interval_seconds: float = Field(
        default=2.0, gt=0, le=3600, description="How often the SIEM forwarder looks for new events."
    )

    strict_profile: bool = Field(
        default=False,
        description="Enforce the strict relying-party profile for every client: pushed authorization "
        "requests, private_key_jwt, DPoP-bound tokens, PKCE S256, ES256/PS256 only. A client can opt in "
        "alone with `strict_profile: true` in its metadata.",
    )
    require_pushed_authorization_requests: bool = Field(
        default=False,
        description="Refuse authorization requests that did not come through /par (RFC 9126 §5); a "
        "client can require it alone with `require_pushed_authorization_requests: true`.",
    )
    par_ttl_seconds: int = Field(
        default=60, ge=10, le=600, description="Lifetime of a pushed authorization request's request_uri."
    )
    dpop_nonce_required: bool = Field(
        default=False,
        description="Require a server-provided nonce in every DPoP proof (RFC 9449 §8-9); clients get "
        "it from the DPoP-Nonce header of a use_dpop_nonce error.",
    )
    dpop_proof_max_age_seconds: int = Field(
        default=60, ge=5, le=600,
        description="How far a DPoP proof's iat may lie in the past (and, by a fifth of it, in the future).",
    )
    client_jwks_timeout_seconds: float = Field(
        default=3.0, gt=0, le=30, description="Timeout of fetching a client's jwks_uri."
    )
    client_jwks_cache_seconds: int = Field(
        default=300, ge=0, le=86400, description="How long a client's fetched jwks_uri document is cached."
    )
    client_jwks_refetch_seconds: int = Field(
        default=30, ge=1, le=3600,
        description="Least time between two fetches of one client's jwks_uri when an unknown kid asks for one.",
    )
    backchannel_logout_attempts: int = Field(
        default=4, ge=1, le=10, description="Delivery attempts of one back-channel logout token."
    )
    backchannel_logout_backoff_seconds: float = Field(
        default=1.0, ge=0, le=60,
        description="Back-off before the second delivery attempt of a logout token; doubled after each.",
    )
    backchannel_logout_timeout_seconds: float = Field(
        default=5.0, gt=0, le=30, description="Timeout of one back-channel logout request."
    )
    registration_enabled: bool = Field(
        default=False,
        description="Serve dynamic client registration (RFC 7591/7592) at /register, for holders of an "
        "initial access token from `idp registration token`.",
    )
    allow_loopback_client_urls: bool = Field(
        default=False,
        description="Let clients register http://127.0.0.1 jwks_uri and backchannel_logout_uri (tests and "
        "development only; https is required otherwise).",
    )
    outbound_allowed_networks: list[str] = Field(
        default=[],
        description="Private networks (JSON list of CIDR, e.g. [\"10.20.0.0/16\"]) that a client's jwks_uri and "
        "backchannel_logout_uri may resolve to. Any other address that is not public (private, link-local, "
        "shared, reserved; loopback unless allow_loopback_client_urls) is never fetched.",
    )

    @model_validator(mode="after")
    def _weak_password_hashing_only_on_loopback(self) -> Settings:
        """Password hashing below OWASP's argon2id configurations is for tests and benchmarks only."""
        weak = not meets_owasp(self.password_hash_memory_kib, self.password_hash_time_cost)
        if weak and not is_loopback_host(urlsplit(self.issuer).hostname or ""):
            raise ValueError("IDP_PASSWORD_HASH_MEMORY_KIB and IDP_PASSWORD_HASH_TIME_COST below OWASP's argon2id "
                             "configurations are for a loopback issuer only")
        return self

    @model_validator(mode="before")
    @classmethod
    def _replaced_settings(cls, values: object) -> object:
        """A setting that no longer exists but changed meaning stops start-up, naming its replacement."""
        given = [name for name in os.environ if name.upper() == "IDP_TRUST_FORWARDED_FOR"]
        if given or (isinstance(values, dict) and "trust_forwarded_for" in values):
            raise ValueError("IDP_TRUST_FORWARDED_FOR is no longer read (any client could forge its address): "
                             "remove it and list the reverse proxies' networks in IDP_TRUSTED_PROXIES")
        return values

    @field_validator("issuer")
    @classmethod
    def _issuer_is_absolute(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError("must use https unless the host is loopback")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split(":", 1)[0]
        if scheme.split("+", 1)[0] not in ("postgresql", "postgres", "sqlite"):
            raise ValueError("must be a postgresql:// or sqlite:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value or None

    @field_validator("signing_algorithms")
    @classmethod
    def _signing_algorithms_known(cls, value: list[str]) -> list[str]:
        known = ("ES256", "RS256", "PS256", "EdDSA")
        unknown = [alg for alg in value if alg not in known]
        if unknown or not value:
            raise ValueError(f"must be a non-empty list of {', '.join(known)}")
        return list(dict.fromkeys(value))

    @field_validator("outbound_allowed_networks", "trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        try:
            return [str(ipaddress.ip_network(network.strip())) for network in value]
        except ValueError:
            raise ValueError('must be a JSON list of CIDR networks such as ["10.20.0.0/16"]') from None

    @field_validator("audit_ip_truncation")
    @classmethod
    def _audit_ip_truncation(cls, value: str) -> str:
        from idp.audit.context import IpTruncation

        IpTruncation.parse(value)
        return value

    @field_validator("audit_siem_url")
    @classmethod
    def _audit_siem_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("syslog+udp", "syslog+tcp", "http", "https") or not parts.hostname:
            raise ValueError("must be syslog+udp://host:port, syslog+tcp://host:port or an http(s) URL")
        return value

    @property
    def database_timeouts(self) -> Timeouts:
        """The bounds of the server's waits on PostgreSQL (IDP_DATABASE_*_TIMEOUT_SECONDS)."""
        return Timeouts(connect=self.database_connect_timeout_seconds,
                        statement=self.database_statement_timeout_seconds,
                        lock=self.database_lock_timeout_seconds, pool=self.database_pool_timeout_seconds)

    @property
    def command_database_timeouts(self) -> Timeouts:
        """The bounds of an ``idp`` command's waits on PostgreSQL: the server's, but for the
        statement bound (IDP_DATABASE_COMMAND_STATEMENT_TIMEOUT_SECONDS)."""
        return replace(self.database_timeouts, statement=self.database_command_statement_timeout_seconds)

    @cached_property
    def effective_database_url(self) -> str:
        """The database URL in use, with the embedded SQLite default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'idp.sqlite3').as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")


class FileSettingsSource(PydanticBaseSettingsSource):
    """``IDP_<NAME>_FILE=/run/secrets/x``: the setting's value is the file's content (one trailing
    newline dropped; a JSON list for list settings). Giving both ``IDP_<NAME>`` and
    ``IDP_<NAME>_FILE`` is refused, as is a file that cannot be read; the message names the
    variable and the path, never the content."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is done in __call__

    def __call__(self) -> dict[str, Any]:
        environ = {name.upper(): value for name, value in os.environ.items()}
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            variable = f"IDP_{name.upper()}"
            path = environ.get(variable + "_FILE")
            if path is None:
                continue
            if variable in environ:
                raise SettingsError(f"invalid settings: both {variable} and {variable}_FILE are set")
            try:
                text = Path(path).read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
            except (OSError, UnicodeError) as exc:
                reason = getattr(exc, "strerror", None) or "not UTF-8 text"
                raise SettingsError(f"invalid setting {variable}_FILE: cannot read {path} ({reason})") from None
            values[name] = json.loads(text) if get_origin(field.annotation) is list and text.strip() else text
        return values


def unknown_setting_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """``IDP_*`` names in the environment that are no setting (nor a setting's ``_FILE``): most
    likely misspelt, and then silently ignored; ``idp serve`` warns about each at start-up."""
    known = {f"IDP_{name.upper()}" for name in Settings.model_fields}
    known |= {name + "_FILE" for name in known} | set(NOT_SETTINGS)
    return sorted(name for name in (os.environ if environ is None else environ)
                  if name.upper().startswith("IDP_") and name.upper() not in known)


#: ``IDP_*`` names read by something else than the settings (the test suite's backends).
NOT_SETTINGS = ("IDP_TEST_POSTGRES_URL", "IDP_TEST_REDIS_URL")


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and ``*.localhost`` (also with the final dot) and for the loopback
    addresses (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) in every spelling the resolver reads as one
    (``127.1``, ``0x7f.1``, ``2130706433``, ``[::1]``; :func:`idp.net.hosts.host_address`).
    ``127.0.0.1.example.com`` is a name like any other."""
    name = host.lower().removesuffix(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = host_address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 (not loopback to ipaddress before Python 3.13)
    return address is not None and address.is_loopback


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise SettingsError naming the first bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a rule across settings: its message names them
            raise SettingsError(f"invalid settings: {message}") from None
        name = "IDP_" + str(error["loc"][0]).upper()
        raise SettingsError(f"invalid setting {name}: {message}") from None
