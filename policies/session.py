"""How a satisfied prompt changes the session state (pure functions; the caller stores the result).

- ``Prompt(kind="login")`` answered -> :func:`apply_login` (a new sign-in replaces the old one and
  drops any step-up);
- ``Prompt(kind="mfa")`` answered -> :func:`apply_second_factor` (the login itself becomes
  multi-factor, not time-boxed);
- ``Prompt(kind="step_up")`` answered -> :func:`apply_step_up` (raises the level for the policy's
  ``step_up_window_seconds``, then it falls back);
- ``Prompt(kind="consent")`` answered -> :func:`apply_consent`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from policies.amr import merge_amr
from policies.context import Authentication, SessionState
from policies.loa import Level, level_from_token


def apply_login(session: SessionState, *, level: Level, amr: Iterable[str], adapter_id: str,
                now: int, roles: Iterable[str] = (), organisation: bool = False) -> SessionState:
    """A fresh sign-in: it becomes the session's login; a previous step-up no longer counts.
    ``organisation``: an organisation e-ID account signed in, not a person."""
    login = Authentication(level, tuple(amr), adapter_id, now, tuple(roles), organisation)
    return dataclasses.replace(session, login=login, step_up=None, step_up_expires_at=None)


def apply_second_factor(session: SessionState, *, amr: Iterable[str], now: int,
                        level: Level = Level.LOCAL_MFA) -> SessionState:
    """A second factor completed the login: its methods join the login's, its level rises to
    ``level`` when that is higher, its time is now."""
    login = session.login
    if login is None:
        raise ValueError("a second factor needs a signed-in session")
    raised = Authentication(max(login.level, level), merge_amr(login.amr, amr, ("mfa",)), login.adapter_id, now,
                            login.roles)
    return dataclasses.replace(session, login=raised)


def apply_step_up(session: SessionState, *, level: Level, amr: Iterable[str], adapter_id: str, now: int,
                  window_seconds: int) -> SessionState:
    """A stronger authentication on top of the login, counting for ``window_seconds``."""
    if session.login is None:
        raise ValueError("a step-up needs a signed-in session")
    return dataclasses.replace(session, step_up=Authentication(level, tuple(amr), adapter_id, now),
                               step_up_expires_at=now + window_seconds)


def apply_consent(session: SessionState, *, scopes: Iterable[str], claims: Iterable[str] = (),
                  now: int) -> SessionState:
    """The person agreed to release these scopes and individually requested claims."""
    return dataclasses.replace(session, consented_scopes=session.consented_scopes | frozenset(scopes),
                               consented_claims=session.consented_claims | frozenset(claims),
                               consented_at=now)


def _auth_to_json(auth: Authentication | None) -> dict[str, Any] | None:
    if auth is None:
        return None
    data = {"level": auth.level.token, "amr": list(auth.amr), "adapter_id": auth.adapter_id, "at": auth.at}
    if auth.roles:
        data["roles"] = list(auth.roles)
    if auth.organisation:
        data["organisation"] = True
    return data


def _auth_from_json(data: Mapping[str, Any] | None) -> Authentication | None:
    if not data:
        return None
    return Authentication(level_from_token(data["level"]), tuple(data["amr"]), str(data["adapter_id"]),
                          int(data["at"]), tuple(str(r) for r in data.get("roles") or ()),
                          data.get("organisation") is True)


def session_to_json(session: SessionState) -> dict[str, Any]:
    """A JSON-ready form for the ephemeral session store."""
    return {
        "login": _auth_to_json(session.login),
        "step_up": _auth_to_json(session.step_up),
        "step_up_expires_at": session.step_up_expires_at,
        "consented_scopes": sorted(session.consented_scopes),
        "consented_claims": sorted(session.consented_claims),
        "consented_at": session.consented_at,
    }


def session_from_json(data: Mapping[str, Any]) -> SessionState:
    """The inverse of :func:`session_to_json`."""
    return SessionState(
        login=_auth_from_json(data.get("login")),
        step_up=_auth_from_json(data.get("step_up")),
        step_up_expires_at=data.get("step_up_expires_at"),
        consented_scopes=frozenset(data.get("consented_scopes", ())),
        consented_claims=frozenset(data.get("consented_claims", ())),
        consented_at=data.get("consented_at"),
    )
