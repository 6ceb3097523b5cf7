"""The SQL schema (SQLAlchemy Core), shared by PostgreSQL and SQLite.

Migrations under ``migrations/versions`` create exactly these tables; a test compares the two.
Every row that concurrent writers may update carries ``version`` for compare-and-swap.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(255), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("secret_hash", String(255), nullable=True),
    Column("auth_method", String(64), nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("post_logout_redirect_uris", JSON, nullable=False),
    Column("grant_types", JSON, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("trusted", Boolean, nullable=False, default=False),
    Column("extra", JSON, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

subjects = Table(
    "subjects",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("personal_id_hash", String(128), nullable=True, unique=True),
    Column("personal_id_enc", Text, nullable=True),
    Column("claims", JSON, nullable=False),
    # which source (adapter id) owns which claim, and when each source last vouched for them
    Column("sources", JSON, nullable=False, server_default="{}"),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_id", String(64), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("username", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("name", String(255), nullable=True),
    Column("email", String(320), nullable=True),
    Column("phone", String(64), nullable=True),
    Column("has_second_factor", Boolean, nullable=False, default=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("extra", JSON, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

identity_links = Table(
    "identity_links",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_id", String(64), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("adapter", String(128), nullable=False),
    Column("external_subject", String(512), nullable=False),
    Column("claims", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("adapter", "external_subject", name="uq_identity_links_adapter_subject"),
    Index("ix_identity_links_subject_id", "subject_id"),
)

# The second factors of a person without a local account (a directory official, someone from an
# upstream): ``extra`` has the shape of ``accounts.extra``'s factor keys (``totp``, ``totp_pending``).
person_factors = Table(
    "person_factors",
    metadata,
    Column("subject_id", String(64), ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True),
    Column("username", String(255), nullable=False),
    Column("extra", JSON, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A person's passkeys (WebAuthn credentials): the public key, the authenticator's signature counter
# (a counter going back means a cloned credential) and what the person named it.
passkeys = Table(
    "passkeys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_id", String(64), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("credential_id", String(1400), nullable=False, unique=True),  # base64url, at most 1023 bytes
    Column("public_key", LargeBinary, nullable=False),  # COSE_Key
    Column("sign_count", BigInteger, nullable=False),
    Column("aaguid", String(36), nullable=False),
    Column("backed_up", Boolean, nullable=False),
    Column("transports", JSON, nullable=False),
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Index("ix_passkeys_subject_id", "subject_id"),
)

consents = Table(
    "consents",
    metadata,
    Column("subject_id", String(64), ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True),
    Column("client_id", String(255), ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True),
    Column("scopes", JSON, nullable=False),
    Column("claims", JSON, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("granted_at", DateTime(timezone=True), nullable=False),
)

grants = Table(
    "grants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_id", String(64), nullable=True),
    Column("client_id", String(255), ForeignKey("clients.client_id", ondelete="CASCADE"), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("claims", JSON, nullable=False),
    Column("sid", String(128), nullable=True),
    Column("acr", String(255), nullable=True),
    Column("amr", JSON, nullable=False),
    Column("auth_time", BigInteger, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_reason", String(64), nullable=True),
    Index("ix_grants_subject_id", "subject_id"),
    Index("ix_grants_sid", "sid"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(128), primary_key=True),
    Column("grant_id", String(64), ForeignKey("grants.id", ondelete="CASCADE"), nullable=False),
    Column("dpop_jkt", String(128), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Index("ix_refresh_tokens_grant_id", "grant_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(128), primary_key=True),
    Column("alg", String(16), nullable=False),
    Column("backend", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("private_key_enc", LargeBinary, nullable=True),
    Column("hsm_label", String(255), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("activated_at", DateTime(timezone=True), nullable=True),
    Column("retired_at", DateTime(timezone=True), nullable=True),
    Column("version", Integer, nullable=False, default=1),
)


def _event_columns() -> list[Column[Any]]:
    """What an audit event says, linked (``audit_events``) or not yet (``audit_pending``)."""
    return [
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("type", String(64), nullable=False),
        Column("outcome", String(16), nullable=False),
        Column("subject", String(255), nullable=True),
        Column("username", String(255), nullable=True),
        Column("client_id", String(255), nullable=True),
        Column("adapter", String(128), nullable=True),
        Column("acr", String(255), nullable=True),
        Column("amr", JSON, nullable=True),
        Column("ip", String(64), nullable=True),
        Column("user_agent", String(512), nullable=True),
        Column("session_hash", String(128), nullable=True),
        Column("request_id", String(128), nullable=True),
        Column("reason", String(128), nullable=True),
        Column("details", JSON, nullable=False),
    ]


audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    *_event_columns(),
    Column("prev_hash", String(128), nullable=False),
    Column("hash", String(128), nullable=False),
    # The signed checkpoint of the chain at this event (a compact JWS over seq and hash, see
    # idp.audit.checkpoints), on every ``checkpoint_interval``-th event; outside the hashed fields.
    Column("checkpoint", Text, nullable=True),
    Index("ix_audit_events_occurred_at", "occurred_at"),
    Index("ix_audit_events_subject", "subject"),
    Index("ix_audit_events_client_id", "client_id"),
    Index("ix_audit_events_username", "username"),
)

# The head of the hash chain: one row (id 1), locked by every writer for the rest of its
# transaction, so sequence numbers stay gap-free and the chain linear across processes.
audit_chain = Table(
    "audit_chain",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("last_hash", String(128), nullable=False),
    Column("pruned_through", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
)

# Audit events written but not yet linked into the chain (idp.audit.sequencer): inserted with the
# work they describe, moved into ``audit_events`` (given seq, prev_hash, hash) by the sequencer.
audit_pending = Table(
    "audit_pending",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    *_event_columns(),
)

# Where each SIEM forwarder got to (at-least-once delivery), and which process holds its lease.
audit_forward_cursors = Table(
    "audit_forward_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

registration_tokens = Table(  # initial access tokens of dynamic client registration (RFC 7591 §3), hashed
    "registration_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("label", String(255), nullable=False),
    Column("uses_left", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("allows", String(1024), nullable=False, server_default=""),  # what else it lets a client register
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("hash", String(128), nullable=False),
    Column("signature", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

account_locks = Table(  # account locks of the throttle, durable (its counters stay in the short-lived store)
    "account_locks",
    metadata,
    Column("key", String(64), primary_key=True),  # idp.security.throttle.account_key
    Column("until", DateTime(timezone=True), nullable=False, index=True),
    Column("failures", Integer, nullable=False),
)

revoked_client_tokens = Table(  # self-contained client access tokens revoked before they expire (RFC 7009)
    "revoked_client_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("client_id", String(255), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)
