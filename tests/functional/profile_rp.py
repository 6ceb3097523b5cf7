"""The relying-party side of the strict profile, written with joserfc (not the provider's own JOSE
code): client keys, client assertions, DPoP proofs, request objects; a loopback receiver for
jwks_uri and back-channel logout; and a running provider with the profile's clients registered."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from tests.conftest import postgres_redis_env
from tests.functional.browser_client import AuthorizationRun, Browser, callback_params
from tests.functional.helpers import call_idp, running_server
from tests.interop.rp.driver import offline_access_prompt

PASSWORD = "một câu mật khẩu dài đủ dùng"
DPOP_SECRET = "s3cret-of-the-dpop-bound-client-0123456789"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class RpKey:
    """One relying-party signing key."""

    alg: str = "ES256"
    kid: str = field(default_factory=lambda: secrets.token_hex(4))
    key: Any = None

    def __post_init__(self) -> None:
        if self.key is None:
            if self.alg == "ES256":
                self.key = ECKey.generate_key("P-256", parameters={"kid": self.kid}, private=True)
            else:
                self.key = RSAKey.generate_key(2048, parameters={"kid": self.kid}, private=True)

    def public_jwk(self) -> dict[str, Any]:
        return {**self.key.as_dict(private=False), "kid": self.kid, "use": "sig", "alg": self.alg}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode({"alg": self.alg, "kid": self.kid, **header}, claims, self.key,
                          algorithms=[self.alg])

    def thumbprint(self) -> str:
        members = {k: v for k, v in self.key.as_dict(private=False).items() if k in ("kty", "crv", "x", "y", "n", "e")}
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
        return b64(hashlib.sha256(canonical).digest())


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS with an arbitrary header and a given (possibly empty) signature."""
    return (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode()) + "." + b64(signature))


def hmac_with_public_key(key: RpKey, claims: dict[str, Any], **header: Any) -> str:
    """The classic confusion attack: HS256 keyed with the public key's JSON."""
    secret = OctKey.import_key(json.dumps(key.public_jwk()).encode())
    return jwt.encode({"alg": "HS256", "kid": key.kid, **header}, claims, secret, algorithms=["HS256"])


def assertion_claims(client_id: str, audience: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 60,
            "jti": secrets.token_urlsafe(12), **overrides}


def client_assertion(key: RpKey, client_id: str, audience: str, **overrides: Any) -> dict[str, str]:
    """Form fields of private_key_jwt authentication (``overrides`` replace claims, e.g. ``aud``)."""
    return {"client_assertion_type": ASSERTION_TYPE,
            "client_assertion": key.sign(assertion_claims(client_id, audience, **overrides))}


def dpop_proof(key: RpKey, method: str, url: str, *, access_token: str | None = None, nonce: str | None = None,
               header: dict[str, Any] | None = None, **overrides: Any) -> str:
    claims: dict[str, Any] = {"htm": method, "htu": url, "iat": int(time.time()), "jti": secrets.token_urlsafe(12)}
    if access_token is not None:
        claims["ath"] = b64(hashlib.sha256(access_token.encode()).digest())
    if nonce is not None:
        claims["nonce"] = nonce
    claims.update(overrides)
    head = {"typ": "dpop+jwt", "alg": key.alg, "jwk": key.key.as_dict(private=False), **(header or {})}
    return jwt.encode(head, claims, key.key, algorithms=[key.alg])


def request_object(key: RpKey, client: str, audience: str, params: dict[str, str], **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": client, "aud": audience, "client_id": client, "iat": now, "exp": now + 120,
              "jti": secrets.token_urlsafe(8), **params, **overrides}
    return key.sign(claims, typ="oauth-authz-req+jwt")


class Receiver:
    """A loopback relying-party server: serves a JWK Set at /jwks and collects logout tokens POSTed
    to /backchannel (answering ``fail_first`` times with 500 before 200)."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.logout_tokens: list[str] = []
        self.fail_first = 0
        self.posts = 0
        self.jwks_fetches = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802
                receiver.jwks_fetches += 1
                body = json.dumps(receiver.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                receiver.posts += 1
                status = 500 if receiver.posts <= receiver.fail_first else 200
                if status == 200:
                    receiver.logout_tokens.extend(form.get("logout_token", []))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for_tokens(self, count: int, timeout: float = 15) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.logout_tokens) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.logout_tokens)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class ProfileDeployment:
    base: str
    env: dict[str, str]
    keys: dict[str, RpKey]
    receiver: Receiver

    def redirect_uri(self, client_id: str) -> str:
        return f"http://127.0.0.1:9/{client_id}/cb"

    def auth(self, client_id: str, **overrides: Any) -> dict[str, str]:
        return client_assertion(self.keys[client_id], client_id, self.base, **overrides)


CODE_GRANTS = ("authorization_code", "refresh_token")
SCOPES = ("openid", "profile", "email", "offline_access")


def _register(env: dict[str, str], keys: dict[str, RpKey], receiver: Receiver) -> None:
    from idp.clients.service import register_client
    from idp.runtime import open_storage
    from idp.settings import Settings

    settings = Settings(**{name[4:].lower(): value for name, value in env.items()})  # type: ignore[arg-type]
    storage = open_storage(settings, migrate=True)

    def jwks(*names: str) -> dict[str, Any]:
        return {"jwks": {"keys": [keys[n].public_jwk() for n in names]}}

    def uris(client_id: str) -> list[str]:
        return [f"http://127.0.0.1:9/{client_id}/cb"]

    clients: list[tuple[str, dict[str, Any]]] = [
        ("pkjwt", {"auth_method": "private_key_jwt", "redirect_uris": uris("pkjwt"), "grant_types": CODE_GRANTS,
                   "extra": {**jwks("pkjwt"), "backchannel_logout_uri": receiver.base + "/backchannel"}}),
        ("pkjwt-m2m", {"auth_method": "private_key_jwt", "redirect_uris": [], "grant_types": ("client_credentials",),
                       "extra": jwks("pkjwt-m2m")}),
        ("pkjwt-uri", {"auth_method": "private_key_jwt", "redirect_uris": [], "grant_types": ("client_credentials",),
                       "extra": {"jwks_uri": receiver.base + "/jwks"}}),
        ("dpop-m2m", {"auth_method": "client_secret_basic", "secret": DPOP_SECRET, "redirect_uris": [],
                      "grant_types": ("client_credentials",), "extra": {"dpop_bound_access_tokens": True}}),
        ("spa", {"auth_method": "none", "redirect_uris": uris("spa"), "grant_types": CODE_GRANTS}),
        ("par-only", {"auth_method": "private_key_jwt", "redirect_uris": uris("par-only"), "grant_types": CODE_GRANTS,
                      "extra": {**jwks("par-only"), "require_pushed_authorization_requests": True}}),
        ("strict", {"auth_method": "private_key_jwt", "redirect_uris": uris("strict"), "grant_types": CODE_GRANTS,
                    "extra": {**jwks("strict", "strict-rs256"), "strict_profile": True}}),
    ]
    try:
        for client_id, options in clients:
            register_client(storage, client_id, scopes=SCOPES, name=f"Dịch vụ {client_id}", **options)
    finally:
        storage.close()


@pytest.fixture(scope="module", params=["embedded", "postgres+redis"])
def profile_deployment(request: pytest.FixtureRequest,
                       tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProfileDeployment]:
    data = Path(tmp_path_factory.mktemp("idp")) / "var"
    env = {"IDP_DATA_DIR": str(data), "IDP_ALLOW_LOOPBACK_CLIENT_URLS": "true", "IDP_REGISTRATION_ENABLED": "true",
           "IDP_CLIENT_JWKS_REFETCH_SECONDS": "1", "IDP_BACKCHANNEL_LOGOUT_BACKOFF_SECONDS": "0.2"}
    if request.param == "postgres+redis":
        env |= postgres_redis_env(request)
    env |= {"IDP_AUTO_MIGRATE": "true"}
    keys = {name: RpKey() for name in ("pkjwt", "pkjwt-m2m", "pkjwt-uri", "par-only", "strict")}
    keys["strict-rs256"] = RpKey("RS256")
    receiver = Receiver()
    receiver.jwks = {"keys": [keys["pkjwt-uri"].public_jwk()]}
    try:
        data.mkdir(parents=True, exist_ok=True)
        _register(env, keys, receiver)
        user = call_idp(["users", "add", "canbo01", "--password-stdin", "--name", "Trần Thị Bình",
                        "--email", "binh@example.vn"], env, stdin=PASSWORD + "\n")
        assert user.returncode == 0, user.stderr
        with running_server(env) as base:
            yield ProfileDeployment(base=base, env=env, keys=keys, receiver=receiver)
    finally:
        receiver.close()


@pytest.fixture
def browser(profile_deployment: ProfileDeployment) -> Iterator[Browser]:
    """A fresh browser against the profile deployment (import it with ``profile_deployment``)."""
    opened = Browser(profile_deployment.base)
    yield opened
    opened.close()


def front_channel(browser: Browser, params: dict[str, str], redirect_uri: str, *,
                  username: str = "canbo01", password: str = PASSWORD) -> dict[str, str]:
    """Run /authorize with ``params`` (a request for ``offline_access`` carries ``prompt=consent``,
    see :func:`with_offline_consent`) through sign-in and consent, the consent page answered once;
    the parameters the RP receives."""
    response = browser.follow(browser.http.get("/authorize", params=with_offline_consent(params)),
                              stop_at=redirect_uri)
    if response.status_code == 200 and 'name="password"' in response.text:
        response = browser.follow(browser.submit(response, {"username": username, "password": password}),
                                  stop_at=redirect_uri)
    if response.status_code == 200 and 'name="decision"' in response.text:
        response = browser.follow(browser.submit(response, {"decision": "allow"}), stop_at=redirect_uri)
    assert response.status_code in (302, 303), response.text[:2000]
    return callback_params(response)


def with_offline_consent(params: dict[str, str]) -> dict[str, str]:
    """Authorization parameters as OIDC Core §11 has a relying party send them: ``prompt=consent``
    with a ``scope`` asking for ``offline_access`` (pushed requests carry it in the push)."""
    prompt = offline_access_prompt(params.get("scope", ""), params.get("prompt"))
    return {**params, "prompt": prompt} if prompt else dict(params)


def push(dep: ProfileDeployment, run: AuthorizationRun, auth: dict[str, str] | None = None,
         **extra: str) -> httpx.Response:
    """POST the run's parameters to /par (with :func:`with_offline_consent`), authenticated as its
    client (private_key_jwt by default)."""
    body = {**with_offline_consent(run.params()), **(auth if auth is not None else dep.auth(run.client_id)), **extra}
    return httpx.post(dep.base + "/par", data=body, timeout=30)


def token_request(dep: ProfileDeployment, data: dict[str, str], *, proof: str | None = None,
                  auth: tuple[str, str] | None = None) -> httpx.Response:
    headers = {"DPoP": proof} if proof else {}
    return httpx.post(dep.base + "/token", data=data, headers=headers, auth=auth, timeout=30)
