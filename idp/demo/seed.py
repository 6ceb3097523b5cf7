"""Seed the demo: two sample relying parties and a demo account with a fresh password printed at
start. Only with ``IDP_DEMO=true`` (``idp serve --demo``); never in a real deployment."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable

from idp.accounts.passwords import hash_password
from idp.accounts.service import create_local_account
from idp.clients.secrets import generate_secret, hash_secret
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


def _refresh(secret: str, base: str) -> Callable[[Client], Client]:
    def update(client: Client) -> Client:
        return client.replace(secret_hash=hash_secret(secret), redirect_uris=(base + "/callback",),
                              post_logout_redirect_uris=(base,), scopes=tuple(DEMO_SCOPES))

    return update


def seed_demo(provider: Provider) -> dict[str, str]:
    """Create or refresh the demo clients and account; return client secrets for the sample RPs."""
    issuer = provider.issuer
    storage = provider.storage
    secrets_by_client: dict[str, str] = {}
    for client_id, name in DEMO_CLIENTS.items():
        secret = generate_secret()
        base = f"{issuer}/demo/{client_id}"
        if storage.clients.get(client_id) is None:
            register_client(storage, client_id, redirect_uris=[base + "/callback"],
                            post_logout_redirect_uris=[base], secret=secret, name=name,
                            grant_types=("authorization_code", "refresh_token"), scopes=DEMO_SCOPES)
        else:
            storage.clients.update(client_id, _refresh(secret, base))
        secrets_by_client[client_id] = secret
    password = "-".join(secrets.choice(WORDS) for _ in range(4)) + "-" + str(secrets.randbelow(90) + 10)
    account = storage.accounts.get_by_username(DEMO_USERNAME)
    if account is None:
        create_local_account(storage, DEMO_USERNAME, password, name="Nguyễn Thị Minh Khai", kind="demo",
                             email="demo@example.invalid")
    else:
        storage.accounts.update(account.id, lambda a: a.replace(password_hash=hash_password(password)))
    provider.demo_client_secrets = secrets_by_client
    print(
        f"\n  Bản trình diễn / Demo: open {issuer}/demo\n"
        f"  Tài khoản / account: {DEMO_USERNAME}   mật khẩu / password: {password}\n",
        file=sys.stderr, flush=True,
    )
    return secrets_by_client
