"""A relying party under the strict profile that restricted ``vn_*`` scopes need (PAR,
private_key_jwt, PKCE), for tests whose clients ask for those scopes: its ``idp clients add``
options, its authorization run (pushed to /par, so /authorize gets only ``client_id`` and
``request_uri``) and its client authentication."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.functional.browser_client import AuthorizationRun
from tests.functional.profile_rp import RpKey, client_assertion


@dataclass
class StrictClient:
    """One relying party's key; ``cli_args`` register it, ``auth`` authenticates it."""

    client_id: str
    key: RpKey = field(default_factory=RpKey)

    def cli_args(self, folder: Path) -> list[str]:
        """``idp clients add`` options: private_key_jwt with its public key, and PAR."""
        jwks = folder / f"{self.client_id}.jwks.json"
        jwks.write_text(json.dumps({"keys": [self.key.public_jwk()]}))
        return ["--auth-method", "private_key_jwt", "--jwks", str(jwks), "--require-par"]

    def auth(self, base: str) -> dict[str, str]:
        """Form fields of private_key_jwt authentication at ``base`` (the issuer)."""
        return client_assertion(self.key, self.client_id, base)


@dataclass
class PushedRun(AuthorizationRun):
    """An authorization run whose parameters are pushed to /par each time they are asked for."""

    base: str = ""
    client: StrictClient | None = None

    def params(self) -> dict[str, str]:
        assert self.client is not None
        pushed = httpx.post(self.base + "/par", data={**super().params(), **self.client.auth(self.base)}, timeout=30)
        assert pushed.status_code == 201, pushed.text
        return {"client_id": self.client_id, "request_uri": pushed.json()["request_uri"]}
