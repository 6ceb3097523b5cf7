"""Which keys a checkpoint may be signed with: keys pinned outside the database.

The ``signing_keys`` table cannot be the authority: whoever can write to the database can add a
key of their own there, rewrite events, recompute the chain and re-sign every checkpoint. So
``idp audit verify`` trusts only keys pinned by

- the key ring's own key store (on the provider's machine: the KEK or the HSM, see
  :mod:`keys.pinned`), or
- a trust file written by ``idp audit trust export`` and handed to the verifier (security staff on
  another machine verify with the database and that file alone: ``--trust FILE``).

A checkpoint signed with a key the database holds but nothing pins fails loudly, naming the key.

The trust file (JSON, public material only; a private JWK member makes it unreadable)::

    {"format": "vn-idp-audit-trust/1", "issuer": "https://...", "exported_at": "...Z",
     "keys": [{"kty": "EC", "crv": "P-256", "x": "...", "y": "...", "kid": "...", "alg": "ES256",
               "use": "sig", "state": "retired",
               "not_before": "2026-01-01T00:00:00.000Z", "not_after": "2026-06-01T00:00:00.000Z"}]}

Every key the key store opens is exported, retired and withdrawn keys included (old checkpoints
were signed with them). ``not_before`` is when the key was created and ``not_after`` when it
stopped signing (null while it may still sign); a checkpoint whose ``iat`` falls outside that
window (give or take :data:`VALIDITY_LEEWAY`, for replicas that pick up a rotation late) fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from idp.audit.chain import format_time
from idp.audit.signatures import ALG_KEY_TYPES, PublicKeyVerifier, SignatureInvalid, token_kid
from idp.errors import IdpError
from idp.storage.models import SigningKeyRecord
from keys.jwk import PRIVATE_MEMBERS, public_key_from_jwk

FORMAT = "vn-idp-audit-trust/1"
VALIDITY_LEEWAY = timedelta(minutes=10)
MAX_TRUST_FILE = 4 * 1024 * 1024


class TrustFileInvalid(IdpError):
    """A trust file that cannot be used (the message names the file and why, never its contents)."""


@dataclass(frozen=True)
class TrustedKey:
    """A pinned public key and when it could sign."""

    jwk: dict[str, Any]
    not_before: datetime | None = None
    not_after: datetime | None = None
    state: str | None = None

    @property
    def kid(self) -> str:
        return str(self.jwk["kid"])

    @classmethod
    def from_record(cls, record: SigningKeyRecord, jwk: Mapping[str, Any]) -> TrustedKey:
        """The key of ``record`` with the public JWK the key store derived (not the row's)."""
        public = {k: v for k, v in jwk.items() if k not in PRIVATE_MEMBERS}
        return cls({**public, "kid": record.kid, "alg": record.alg, "use": "sig"},
                   _aware(record.created_at), _aware(record.retired_at), record.state)

    def document(self) -> dict[str, Any]:
        return {**self.jwk, "state": self.state,
                "not_before": format_time(self.not_before) if self.not_before else None,
                "not_after": format_time(self.not_after) if self.not_after else None}


class PinnedVerifier:
    """``verify(token) -> claims`` with pinned keys only.

    ``database_kids``: the kids in ``signing_keys``, only to word the refusal of a key the database
    holds but nothing pins (a key added to the database). ``source`` names the pins in messages.
    """

    def __init__(self, keys: Iterable[TrustedKey], *, source: str, database_kids: Iterable[str] = (),
                 unpinned_reasons: Mapping[str, str] | None = None) -> None:
        self.keys = {key.kid: key for key in keys}
        self.source = source
        self.database_kids = set(database_kids)
        self.unpinned_reasons = dict(unpinned_reasons or {})
        self._inner = PublicKeyVerifier(key.jwk for key in self.keys.values())

    def __call__(self, token: str) -> dict[str, Any]:
        return self.verify(token)

    def unpinned(self) -> dict[str, str]:
        """The database's keys nothing pins here (kid -> why, possibly empty): harmless while they
        sign no checkpoint, but worth a warning (a key added to the database, or a trust file
        older than the latest rotation)."""
        return {kid: self.unpinned_reasons.get(kid, "") for kid in sorted(self.database_kids - set(self.keys))}

    def verify(self, token: str) -> dict[str, Any]:
        kid = token_kid(token)
        key = self.keys.get(kid) if kid is not None else None
        if key is None:
            named = repr(kid[:64]) if kid is not None else "(none)"
            if kid in self.database_kids:
                why = f" ({self.unpinned_reasons[kid]})" if kid in self.unpinned_reasons else ""
                raise SignatureInvalid(f"signed with key {named}, which the database holds but {self.source} "
                                       f"does not pin{why}: a key added to the database?")
            raise SignatureInvalid(f"signed with key {named}, unknown to {self.source}")
        claims = self._inner.verify(token)
        iat = claims.get("iat")
        if not isinstance(iat, int) or isinstance(iat, bool):
            raise SignatureInvalid("no issue time")
        when = datetime.fromtimestamp(iat, UTC)
        if key.not_before is not None and when < key.not_before - VALIDITY_LEEWAY:
            raise SignatureInvalid(f"signed at {format_time(when)}, before key {key.kid} existed")
        if key.not_after is not None and when > key.not_after + VALIDITY_LEEWAY:
            raise SignatureInvalid(f"signed at {format_time(when)}, after key {key.kid} stopped signing")
        return claims


def trust_document(keys: Iterable[TrustedKey], *, issuer: str | None, now: datetime | None = None) -> dict[str, Any]:
    """The trust file's JSON (see the module docstring)."""
    return {"format": FORMAT, "issuer": issuer, "exported_at": format_time(now or datetime.now(UTC)),
            "keys": [key.document() for key in sorted(keys, key=lambda k: (k.not_before or datetime.min.replace(
                tzinfo=UTC), k.kid))]}


def read_trust_file(path: Path) -> list[TrustedKey]:
    """The keys of a trust file; :class:`TrustFileInvalid` for anything else."""
    name = str(path)[-200:]
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_TRUST_FILE + 1)
    except OSError as exc:
        raise TrustFileInvalid(f"không đọc được tệp tin cậy {name} / cannot read trust file {name}: "
                               f"{exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_TRUST_FILE:
        raise _invalid(name, "too large")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _invalid(name, "not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(document.get("keys"), list):
        raise _invalid(name, f"not a {FORMAT} document")
    return [_trusted_key(name, n, entry) for n, entry in enumerate(document["keys"], 1)]


def _trusted_key(name: str, n: int, entry: Any) -> TrustedKey:
    if not isinstance(entry, dict):
        raise _invalid(name, f"key {n} is not an object")
    if PRIVATE_MEMBERS & set(entry):
        raise _invalid(name, f"key {n} carries private key material: refusing the file")
    jwk = {k: v for k, v in entry.items() if k not in ("state", "not_before", "not_after")}
    if not isinstance(jwk.get("kid"), str) or not jwk["kid"] or jwk.get("alg") not in ALG_KEY_TYPES:
        raise _invalid(name, f"key {n} needs a kid and a supported alg")
    try:
        public_key_from_jwk(jwk)
        window = [_time(entry.get(field)) for field in ("not_before", "not_after")]
    except (ValueError, KeyError, TypeError):
        raise _invalid(name, f"key {n} ({jwk['kid'][:64]!r}) is not a valid public key entry") from None
    state = entry.get("state")
    return TrustedKey(jwk, window[0], window[1], state if isinstance(state, str) else None)


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a time")
    return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _invalid(name: str, why: str) -> TrustFileInvalid:
    return TrustFileInvalid(f"tệp tin cậy {name} không dùng được / trust file {name} unusable: {why}")
