"""Upstream OpenID Connect: the generic ``oidc`` adapter that the national profiles build on."""

from adapters.oidc.config import OidcConfig

CONFIG_MODEL = OidcConfig

__all__ = ["CONFIG_MODEL", "OidcConfig"]
