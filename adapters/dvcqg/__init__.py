"""The National Public Service Portal's SSO (dichvucong.gov.vn) as an upstream: a profile of adapters.oidc."""

from adapters.dvcqg.config import DvcqgConfig

CONFIG_MODEL = DvcqgConfig

__all__ = ["CONFIG_MODEL", "DvcqgConfig"]
