"""VNeID, the national e-ID (Keycloak realm), as an upstream: a profile of adapters.oidc."""

from adapters.vneid.config import VneidConfig

CONFIG_MODEL = VneidConfig

__all__ = ["CONFIG_MODEL", "VneidConfig"]
