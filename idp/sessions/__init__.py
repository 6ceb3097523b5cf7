"""Single sign-on sessions: a cookie pointing to a record in the short-lived store."""

from idp.sessions.model import SsoSession
from idp.sessions.store import SessionStore

__all__ = ["SessionStore", "SsoSession"]
