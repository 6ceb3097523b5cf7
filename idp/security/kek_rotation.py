"""Rotating the key-encryption key (KEK): everything sealed under it, or under a key derived from
it, is opened with the old KEK and sealed again under the new one.

What is re-sealed (each in the table that keeps it):

- software signing keys (``signing_keys.private_key_enc``, :mod:`keys.kek`); HSM keys are not
  sealed by the KEK and are left alone;
- second-factor secrets: the TOTP secret, confirmed or pending, of every local account
  (``accounts.extra``) and of every person without one (``person_factors.extra``), under the factor
  key (:mod:`idp.mfa.sealing`), bound to the holder;
- personal identification numbers (``subjects.personal_id_enc``) and their keyed hashes
  (``subjects.personal_id_hash``, and the ``pid-hmac:`` external subjects of ``identity_links``
  that name a person by it), under the personal-ID keys (:mod:`idp.identity.protection`).

Resumable: each row changes in a transaction of its own, only if it still holds what was read, and
a row that already opens with the new KEK is skipped (AES-GCM says which key sealed it). A rotation
cut short is finished by running it again with the same two keys; until it finishes the provider
cannot start with either key alone, so rotate with the servers stopped.

Not re-sealed, because it is short-lived: a session's sealed upstream record (for upstream logout;
sessions live hours) and the DPoP nonce key. Pairwise ``sub`` values must not change, so a
rotation needs ``IDP_PAIRWISE_SALT`` set (otherwise the salt is derived from the KEK).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from idp.errors import IdpError
from idp.identity.protection import (
    decrypt_personal_id,
    derive_identity_keys,
    encrypt_personal_id,
    personal_id_hash,
)
from idp.mfa.holders import PERSON_PREFIX
from idp.mfa.sealing import SealError, derive_factor_key, open_secret, seal_secret
from idp.storage.db import Database
from idp.storage.schema import accounts, identity_links, person_factors, signing_keys, subjects
from keys import kek as kek_seal
from keys.errors import KeyConfigError

HASHED_SUBJECT = "pid-hmac:"
FACTOR_KEYS = ("totp", "totp_pending")
#: (what, done so far, how many) after each row; the CLI prints it on stderr.
Progress = Callable[[str, int, int], None]


class RotationFailed(IdpError):
    """A row opens with neither key; the message names the row, never a secret."""


@dataclass
class RotationReport:
    resealed: dict[str, int] = field(default_factory=dict)  # what -> rows sealed again now
    already: dict[str, int] = field(default_factory=dict)  # what -> rows found under the new KEK


class KekRotation:
    """Re-seals from ``old`` to ``new`` (32-byte KEKs) in ``db``."""

    def __init__(self, db: Database, old: bytes, new: bytes, progress: Progress | None = None) -> None:
        if old == new:
            raise ValueError("the new key-encryption key is the current one")
        self.db = db
        self.old, self.new = old, new
        self.progress = progress or (lambda _what, _done, _total: None)
        self.report = RotationReport()

    def run(self) -> RotationReport:
        self.signing_keys()
        self.factor_secrets()
        self.personal_ids()
        return self.report

    def _count(self, what: str, *, changed: bool) -> None:
        counts = self.report.resealed if changed else self.report.already
        counts[what] = counts.get(what, 0) + 1

    # -- signing keys -------------------------------------------------------------------------
    def signing_keys(self) -> None:
        with self.db.connect() as conn:
            rows = conn.execute(select(signing_keys.c.kid, signing_keys.c.private_key_enc)
                                .where(signing_keys.c.private_key_enc.is_not(None))).all()
        for done, (kid, blob) in enumerate(rows, start=1):
            blob = bytes(blob)
            if _opens(kek_seal.unseal, self.new, kid, blob):
                self._count("signing keys", changed=False)
            else:
                try:
                    plain = kek_seal.unseal(self.old, kid, blob)
                except KeyConfigError:
                    raise RotationFailed(f"signing key {kid} opens with neither key-encryption key") from None
                with self.db.transaction() as conn:
                    conn.execute(update(signing_keys)
                                 .where(signing_keys.c.kid == kid, signing_keys.c.private_key_enc == blob)
                                 .values(private_key_enc=kek_seal.seal(self.new, kid, plain)))
                self._count("signing keys", changed=True)
            self.progress("signing keys", done, len(rows))

    # -- second-factor secrets ----------------------------------------------------------------
    def factor_secrets(self) -> None:
        old_key, new_key = derive_factor_key(self.old), derive_factor_key(self.new)
        holders = list(self._factor_holders())
        for done, (table, key_column, key, holder_id, extra, version) in enumerate(holders, start=1):
            changed, resealed = False, dict(extra)
            for name in FACTOR_KEYS:
                factor = extra.get(name)
                if not isinstance(factor, dict) or not isinstance(factor.get("secret"), str):
                    continue
                sealed = factor["secret"]
                if _opens(open_secret, new_key, holder_id, sealed):
                    continue
                try:
                    plain = open_secret(old_key, holder_id, sealed)
                except SealError:
                    raise RotationFailed(f"the second factor of {holder_id} opens with neither key") from None
                resealed[name] = {**factor, "secret": seal_secret(new_key, holder_id, plain)}
                changed = True
            if changed:
                with self.db.transaction() as conn:
                    result = conn.execute(update(table).where(key_column == key, table.c.version == version)
                                          .values(extra=resealed, version=version + 1))
                if result.rowcount != 1:
                    raise RotationFailed(f"the second factor of {holder_id} changed meanwhile: run the rotation again")
            self._count("second factors", changed=changed)
            self.progress("second factors", done, len(holders))

    def _factor_holders(self) -> Iterator[tuple[Any, Any, str, str, dict[str, Any], int]]:
        with self.db.connect() as conn:
            for row in conn.execute(select(accounts.c.id, accounts.c.extra, accounts.c.version)).all():
                if any(name in (row.extra or {}) for name in FACTOR_KEYS):
                    yield accounts, accounts.c.id, row.id, row.id, dict(row.extra), int(row.version)
            for row in conn.execute(select(person_factors.c.subject_id, person_factors.c.extra,
                                           person_factors.c.version)).all():
                if any(name in (row.extra or {}) for name in FACTOR_KEYS):
                    yield (person_factors, person_factors.c.subject_id, row.subject_id,
                           PERSON_PREFIX + row.subject_id, dict(row.extra), int(row.version))

    # -- personal identification numbers --------------------------------------------------------
    def personal_ids(self) -> None:
        old_keys, new_keys = derive_identity_keys(self.old), derive_identity_keys(self.new)
        with self.db.connect() as conn:
            rows = conn.execute(select(subjects.c.id, subjects.c.personal_id_enc, subjects.c.personal_id_hash)
                                .where(subjects.c.personal_id_enc.is_not(None))).all()
        for done, (subject_id, sealed, old_hash) in enumerate(rows, start=1):
            if _opens(decrypt_personal_id, sealed, new_keys.enc_key):
                self._count("personal ID numbers", changed=False)
            else:
                try:
                    number = decrypt_personal_id(sealed, old_keys.enc_key)
                except ValueError:
                    raise RotationFailed(f"the personal ID number of subject {subject_id} opens with neither "
                                         "key") from None
                new_hash = personal_id_hash(number, new_keys.hash_key)
                with self.db.transaction() as conn:  # the number, its hash and the links keyed by it: together
                    conn.execute(update(subjects)
                                 .where(subjects.c.id == subject_id, subjects.c.personal_id_enc == sealed)
                                 .values(personal_id_enc=encrypt_personal_id(number, new_keys.enc_key),
                                         personal_id_hash=new_hash, version=subjects.c.version + 1))
                    if old_hash:
                        conn.execute(update(identity_links)
                                     .where(identity_links.c.external_subject == HASHED_SUBJECT + old_hash)
                                     .values(external_subject=HASHED_SUBJECT + new_hash))
                self._count("personal ID numbers", changed=True)
            self.progress("personal ID numbers", done, len(rows))


def _opens(attempt: Callable[..., object], *args: Any) -> bool:
    """Whether ``attempt(*args)`` opens the sealed value (AES-GCM: only with the key that sealed it)."""
    try:
        attempt(*args)
    except (KeyConfigError, SealError, ValueError):
        return False
    return True
