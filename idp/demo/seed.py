"""Seed the demo: two sample relying parties and a demo account with a fresh password printed at
start. Only with ``IDP_DEMO=true`` (``idp serve --demo``); never in a real deployment.

The sample relying parties ask for restricted scopes (``vn_id``, ``vn_eid``), so they use the strict
profile those need: ``private_key_jwt`` with a fresh ES256 key at every start (kept in memory, never
written) and pushed authorization requests."""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Callable
from typing import Any

from joserfc.jwk import ECKey

from idp.accounts.passwords import hash_password
from idp.accounts.service import create_local_account
from idp.clients.service import register_client
from idp.oidc.provider import Provider
from idp.storage.models import Client

DEMO_CLIENTS = {
    "demo-portal": "Cổng dịch vụ công tỉnh (bản trình diễn)",
    "demo-motcua": "Hệ thống một cửa điện tử (bản trình diễn)",
}
DEMO_USERNAME = "demo"
DEMO_SCOPES = ("openid", "profile", "email", "phone", "vn_id", "vn_eid")
WORDS = ("sen", "lua", "song", "nui", "may", "trang", "bien", "gio", "doi", "che", "sao", "mua")


def _client_key(client_id: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": f"{client_id}-{secrets.token_hex(4)}", "alg": "ES256",
                                                   "use": "sig"}, private=True)


def _metadata(key: ECKey) -> dict[str, Any]:
    return {"jwks": {"keys": [key.as_dict(private=False)]}, "require_pushed_authorization_requests": True}


def _refresh(key: ECKey, base: str) -> Callable[[Client], Client]:
    def update(client: Client) -> Client:
        return client.replace(auth_method="private_key_jwt", secret_hash=None, redirect_uris=(base + "/callback",),
                              post_logout_redirect_uris=(base,), scopes=tuple(DEMO_SCOPES),
                              extra={**client.extra, **_metadata(key)})

    return update


def seed_demo(provider: Provider) -> dict[str, str]:
    """Create or refresh the demo clients and account; return each sample RP's private key (a JWK
    as JSON), which it signs its client assertions with."""
    issuer = provider.issuer
    storage = provider.storage
    keys_by_client: dict[str, str] = {}
    for client_id, name in DEMO_CLIENTS.items():
        key = _client_key(client_id)
        base = f"{issuer}/demo/{client_id}"
        if storage.clients.get(client_id) is None:
            register_client(storage, client_id, redirect_uris=[base + "/callback"], auth_method="private_key_jwt",
                            post_logout_redirect_uris=[base], name=name, extra=_metadata(key),
                            grant_types=("authorization_code", "refresh_token"), scopes=DEMO_SCOPES)
        else:
            storage.clients.update(client_id, _refresh(key, base))
        keys_by_client[client_id] = json.dumps(key.as_dict(private=True))
    password = "-".join(secrets.choice(WORDS) for _ in range(4)) + "-" + str(secrets.randbelow(90) + 10)
    account = storage.accounts.get_by_username(DEMO_USERNAME)
    if account is None:
        create_local_account(storage, DEMO_USERNAME, password, name="Nguyễn Thị Minh Khai", kind="demo",
                             email="demo@example.invalid")
    else:
        storage.accounts.update(account.id, lambda a: a.replace(password_hash=hash_password(password)))
    provider.demo_client_secrets = keys_by_client
    print(
        f"\n  Bản trình diễn / Demo: open {issuer}/demo\n"
        f"  Tài khoản / account: {DEMO_USERNAME}   mật khẩu / password: {password}\n",
        file=sys.stderr, flush=True,
    )
    return keys_by_client
