"""Activating a new version of a policy document, and rolling back to the one before.

The policy folder (``IDP_POLICIES_DIR``) stays the source of truth: activating validates the
document as start-up would (the configured adapters included), keeps the version it replaces in
``<folder>/.history/<name>/`` (a stack: the folder's loader ignores dot folders) and writes the new
file atomically (a temporary file renamed over it). Rolling back takes the newest kept version off
the stack and puts it back (or removes the client's own document when it had none before, so the
default applies again). Activations and rollbacks of one folder take turns: each holds an exclusive
lock on ``<folder>/.history/.lock`` (``flock``, so across processes and threads, released if a
process dies) from reading the document in force to writing its successor, so two at once never
keep the same version twice or lose one from the stack. Every process reading the folder picks the
change up within seconds (:mod:`policies.watch`). Without a policy folder the built-in policy is in force and cannot be
changed here.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from idp.errors import IdpError
from policies.document import DEFAULT_NAME, PolicyError, parse_policy

HISTORY = ".history"
LOCK = ".lock"  # in the history folder: held while a version is kept and its successor written
ABSENT = "absent"  # a kept "version" meaning: the client had no document of its own


class PolicyChangeRefused(IdpError):
    """The change cannot be made (no folder, nothing to roll back to, an unusable name)."""


@dataclass(frozen=True)
class PolicyChange:
    name: str
    before: str | None  # the digest of the document in force before (None: none of its own)
    after: str | None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PolicyVersions:
    def __init__(self, folder: Path | None, *, known_adapters: frozenset[str]) -> None:
        self.folder = folder
        self.known_adapters = known_adapters

    def _folder(self) -> Path:
        if self.folder is None:
            raise PolicyChangeRefused("IDP_POLICIES_DIR is unset: the built-in policy is in force and cannot be "
                                      "changed here")
        return self.folder

    @staticmethod
    def _check_name(name: str) -> str:
        if not name or len(name) > 255 or name.startswith(".") or not all(
                c.isascii() and (c.isalnum() or c in "._-") for c in name):
            raise PolicyChangeRefused(f"{name[:64]!r} cannot name a policy document")
        return name

    def check(self, name: str, text: str) -> str:
        """The digest of a valid document for ``name`` (``default`` or a client id); PolicyError."""
        self._check_name(name)
        policy = parse_policy(text, f"{name}.yaml", expected_client_id=None if name == DEFAULT_NAME else name,
                              known_adapters=self.known_adapters)
        return policy.digest

    def activate(self, name: str, text: str) -> PolicyChange:
        """Make ``text`` the document in force for ``name``, keeping the current one for a rollback."""
        folder = self._folder()
        after = self.check(name, text)
        path = folder / f"{name}.yaml"
        with self._turn(folder):
            current = path.read_text(encoding="utf-8") if path.is_file() else None
            self._keep(name, current)
            _write_atomically(path, text)
        return PolicyChange(name, _digest(current) if current is not None else None, after)

    def roll_back(self, name: str) -> PolicyChange:
        """Put back the version the last activation replaced."""
        folder = self._folder()
        self._check_name(name)
        with self._turn(folder):
            return self._roll_back(folder, name)

    def _roll_back(self, folder: Path, name: str) -> PolicyChange:
        kept = sorted((folder / HISTORY / name).glob("*.yaml")) if (folder / HISTORY / name).is_dir() else []
        if not kept:
            raise PolicyChangeRefused(f"no earlier version of {name}.yaml to go back to")
        previous = kept[-1]
        path = folder / f"{name}.yaml"
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if previous.stem.endswith("-" + ABSENT):
            if name == DEFAULT_NAME:
                raise PolicyChangeRefused("the default policy cannot be removed")
            path.unlink(missing_ok=True)
            after = None
        else:
            text = previous.read_text(encoding="utf-8")
            after = self.check(name, text)  # an adapter may have gone since: refused, nothing changes
            _write_atomically(path, text)
        previous.unlink()
        return PolicyChange(name, _digest(current) if current is not None else None, after)

    @staticmethod
    @contextlib.contextmanager
    def _turn(folder: Path) -> Iterator[None]:
        """Hold the folder's change lock (waiting for another activation or rollback to finish)."""
        kept = folder / HISTORY
        try:
            kept.mkdir(exist_ok=True)
            handle = open(kept / LOCK, "a+b")  # noqa: SIM115 - closed below, after the unlock
        except OSError as exc:
            raise PolicyChangeRefused(f"cannot lock the policy folder: {exc.strerror}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()

    def _keep(self, name: str, current: str | None) -> None:
        kept = self._folder() / HISTORY / name
        kept.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        label = _digest(current)[:16] if current is not None else ABSENT
        _write_atomically(kept / f"{stamp}-{label}.yaml", current or "")


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise PolicyChangeRefused(f"cannot write {path.name} in the policy folder: {exc.strerror}") from None


__all__ = ["PolicyChange", "PolicyChangeRefused", "PolicyError", "PolicyVersions"]
