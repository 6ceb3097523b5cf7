"""Experiment: at most one argon2id verification at a time per process (one core)."""
# mypy: ignore-errors

import threading

import idp.accounts.passwords as passwords
from idp.app import create_app as _create

_gate = threading.BoundedSemaphore(1)


class _Gated:
    def __init__(self, inner):
        self._inner = inner

    def verify(self, *args, **kwargs):
        with _gate:
            return self._inner.verify(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def create_app():
    passwords.HASHER = _Gated(passwords.HASHER)
    return _create()
