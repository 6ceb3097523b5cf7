"""The sign-in flow owned by the provider core: :class:`AuthorizationFlow` and its outcomes."""

from idp.oidc.flow.core import AuthorizationFlow
from idp.oidc.flow.outcomes import Browser, Deny, IssueCode, Outcome, Prompt, ShowPage, Upstream

__all__ = ["AuthorizationFlow", "Browser", "Deny", "IssueCode", "Outcome", "Prompt", "ShowPage", "Upstream"]
