"""A policy folder read again when it changes, so a version activated or rolled back
(:mod:`idp.admin.policies`) governs sign-ins in every worker and replica that reads the folder,
without a restart.

The folder's listing (each ``*.yaml`` file's name, size and modification time) is compared at most
every :data:`CHECK_SECONDS`; when it changed, the folder is loaded again with the same checks as at
start-up. A folder that no longer loads (a hand-edited file with a mistake) keeps the policies in
force, and says so in the log once per change.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path

from policies.document import PolicyError
from policies.policy_set import PolicySet

CHECK_SECONDS = 2.0
log = logging.getLogger("policies")

Stamp = tuple[tuple[str, int, int], ...]


def folder_stamp(folder: Path) -> Stamp:
    """What changes when a policy document of ``folder`` is added, replaced, edited or removed."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return ()
    stamp = []
    for entry in entries:
        if entry.name.endswith((".yaml", ".yml")) and not entry.name.startswith("."):
            try:
                info = entry.stat()
            except OSError:
                continue
            stamp.append((entry.name, info.st_size, info.st_mtime_ns))
    return tuple(stamp)


class WatchedPolicies:
    """The policies in force: ``initial``, or the folder's newer content once it changes."""

    def __init__(self, initial: PolicySet, *, known_adapters: Collection[str] | None = None,
                 check_seconds: float = CHECK_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._current = initial
        self._known = frozenset(known_adapters) if known_adapters is not None else None
        self._check_seconds = check_seconds
        self._clock = clock
        self._next_check = clock() + check_seconds
        self._folder: Path | None = getattr(initial, "folder", None)  # a stand-in set may have none
        self._stamp = folder_stamp(self._folder) if self._folder is not None else ()
        self._lock = threading.Lock()

    def current(self) -> PolicySet:
        """The policies in force now (reading the folder again when it changed)."""
        if self._folder is None or self._clock() < self._next_check:
            return self._current
        if self._lock.acquire(blocking=False):  # one reader; the others keep the current set
            try:
                self._next_check = self._clock() + self._check_seconds
                self._reload_if_changed()
            finally:
                self._lock.release()
        return self._current

    def refresh(self) -> PolicySet:
        """Read the folder again now when it changed (after this process changed it)."""
        with self._lock:
            self._next_check = self._clock() + self._check_seconds
            self._reload_if_changed()
        return self._current

    def _reload_if_changed(self) -> None:
        folder = self._folder
        if folder is None:
            return
        stamp = folder_stamp(folder)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._current = PolicySet.load(folder, known_adapters=self._known)
        except PolicyError as exc:
            log.warning("policy folder changed but does not load; the policies in force stay: %s", exc)
            return
        log.info("policy folder read again: %d client policies", len(self._current.policies))
