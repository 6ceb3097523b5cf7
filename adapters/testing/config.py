"""Configuration of the ``testing`` adapter (version 1)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from adapters.base import Adapter
from adapters.config import PASSWORD, REDIRECT, AdapterConfig, AdapterContext, Produces
from idp.settings import is_loopback_host


class TestUser(BaseModel):
    """One fixed user of the test source."""

    __test__ = False  # not a pytest test class
    model_config = ConfigDict(extra="forbid", frozen=True)

    password: SecretStr
    claims: dict[str, Any] = Field(default_factory=dict)
    roles: list[str] = Field(default_factory=list)
    disabled: bool = False
    password_expired: bool = False


class TestingConfig(AdapterConfig):
    __test__ = False
    capabilities: ClassVar[frozenset[str]] = frozenset({PASSWORD, REDIRECT})
    config_version: ClassVar[int] = 1

    type: Literal["testing"]
    issuer: str = Field(default="https://test-source.invalid", description="Issuer the identities report.")
    users: dict[str, TestUser] = Field(default_factory=dict, description="username -> user.")
    redirect_user: str | None = Field(
        default=None, description="Who a redirect sign-in returns (a key of users). Unset: the first user."
    )
    acr: str | None = Field(default=None, description="acr the identities report.")
    amr: list[str] = Field(default_factory=lambda: ["pwd"], description="amr the identities report.")
    unavailable: bool = Field(default=False, description="Behave as an unreachable source.")

    def produces(self) -> Produces:
        """The configured ``acr`` (the lowest level when it names none; ``local-mfa`` when the
        amr says ``mfa``) and the users' claims."""
        from policies.loa import LOWEST, level_from_token

        try:
            level = level_from_token(self.acr) if self.acr else LOWEST
        except ValueError:
            level = LOWEST
        levels = {level.token} | ({"local-mfa"} if "mfa" in self.amr and level == LOWEST else set())
        claims = {"preferred_username"} | {name for user in self.users.values() for name in user.claims}
        if any(user.roles for user in self.users.values()):
            claims.add("vn_roles")
        return Produces(tuple(sorted(levels, key=level_from_token)), frozenset(claims))

    def open(self, context: AdapterContext) -> Adapter:
        from adapters.testing.adapter import TestingAdapter

        host = urlsplit(context.settings.issuer).hostname or ""
        if not is_loopback_host(host):
            raise ValueError("the testing adapter is only allowed with a loopback issuer")
        return TestingAdapter(self)
