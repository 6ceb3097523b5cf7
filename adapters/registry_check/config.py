"""Configuration of the ``registry-check`` adapter (version 1)::

    - id: c06
      type: registry-check
      base_url: https://registry.example.vn   # the service (the national sandbox: {sandbox}/c06)
      api_key: ...                            # its bearer key
      timeout_seconds: 5
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from adapters.base import Adapter
from adapters.config import AdapterConfig, AdapterContext

REGISTRY_CHECK = "registry_check"


class RegistryCheckConfig(AdapterConfig):
    capabilities: ClassVar[frozenset[str]] = frozenset({REGISTRY_CHECK})
    config_version: ClassVar[int] = 1

    type: Literal["registry-check"]
    base_url: str = Field(pattern=r"^https?://", description="Base URL of the card-verification service.")
    api_key: SecretStr = Field(description="Bearer key of the service.")
    timeout_seconds: float = Field(default=5, gt=0, le=30, description="Timeout of one check.")

    def open(self, context: AdapterContext) -> Adapter:
        from adapters.registry_check.adapter import RegistryCheckAdapter

        return RegistryCheckAdapter(self)
