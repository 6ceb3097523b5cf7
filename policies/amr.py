"""Authentication method references (RFC 8176) and what counts as multi-factor.

A sign-in is multi-factor when its ``amr`` says ``mfa`` or names methods from two different
factor categories (something known, held, or inherent). ``user`` (presence), ``geo``, ``rba``,
``mca``, ``wia`` are not factors by themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

KNOWLEDGE = frozenset({"pwd", "pin", "kba"})
POSSESSION = frozenset({"hwk", "swk", "otp", "sms", "tel", "sc", "pop"})
INHERENCE = frozenset({"face", "fpt", "iris", "retina", "vbm"})


def is_multi_factor(amr: Iterable[str]) -> bool:
    methods = set(amr)
    if "mfa" in methods:
        return True
    return sum(1 for category in (KNOWLEDGE, POSSESSION, INHERENCE) if methods & category) >= 2


def merge_amr(*lists: Iterable[str]) -> tuple[str, ...]:
    """The methods of several authentications of one session, in order, each once."""
    return tuple(dict.fromkeys(m for amr in lists for m in amr))
