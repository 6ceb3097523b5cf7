"""The provider's error hierarchy.

Storage errors are for operators and code; :class:`OAuthError` maps to an OAuth/OIDC error
response for clients (RFC 6749 §4.1.2.1, §5.2); :class:`PageError` to a readable page for people,
Vietnamese first. Neither ever carries a stack trace to a user.
"""

from __future__ import annotations


class IdpError(Exception):
    """Base of every error this package raises on purpose."""


class StorageError(IdpError):
    """The durable or short-lived store failed or refused an operation."""


class AlreadyExists(StorageError):
    """A record with the same identifier exists."""


class NotFound(StorageError):
    """No record has that identifier."""


class ConcurrentUpdate(StorageError):
    """A compare-and-swap update kept losing to other writers."""


class OAuthError(IdpError):
    """An error answered to a client in the OAuth error format."""

    status_code = 400

    def __init__(self, error: str, description: str | None = None, *, status_code: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        if status_code is not None:
            self.status_code = status_code
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class GrantRefused(IdpError):
    """The grant behind a token request cannot be used (revoked, or its person's account ended);
    the token endpoint answers ``invalid_grant`` with this description (RFC 6749 §5.2)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class PageError(IdpError):
    """An error shown to a person as a page; ``message_id`` names a catalogue message."""

    def __init__(self, message_id: str, *, status_code: int = 400, detail: str | None = None) -> None:
        super().__init__(message_id)
        self.message_id = message_id
        self.status_code = status_code
        self.detail = detail
