"""The multi-step workloads, driven the same way against both servers.

A worker is one simulated browser plus relying party on one keep-alive connection. The steps are
what a person and an RP do: authorize (following the server's redirects and filling its login
form), the code exchange with PKCE S256 and client_secret_basic, userinfo, refresh with rotation,
and a second RP's authorize that the SSO session answers without a login form.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from bench.harness.forms import login_form
from bench.harness.http import Connection, CookieJar, Response, basic_auth, form_body, target_of


class FlowError(Exception):
    """A step got an answer a conforming server would not give; the flow is counted as failed."""


@dataclass(frozen=True)
class RelyingParty:
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class Target:
    """One server under test, as the driver sees it."""

    name: str
    host: str
    port: int
    metadata: dict
    rp1: RelyingParty
    rp2: RelyingParty
    service: RelyingParty
    username: str
    password: str
    scope: str = "openid profile email offline_access"

    def endpoint(self, name: str) -> str:
        return target_of(self.metadata[name])


@dataclass
class Recorder:
    """Latencies of the requests and flows of the measured window (setup is not recorded)."""

    active: bool = False
    request_latencies: list[float] = field(default_factory=list)
    flow_latencies: list[float] = field(default_factory=list)
    requests: int = 0
    flows: int = 0
    errors: int = 0
    first_error: str | None = None

    def request(self, response: Response) -> None:
        if self.active:
            self.requests += 1
            self.request_latencies.append(response.elapsed)

    def flow(self, seconds: float) -> None:
        if self.active:
            self.flows += 1
            self.flow_latencies.append(seconds)

    def error(self, exc: BaseException) -> None:
        if self.active:
            self.errors += 1
            self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"[:300]


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None
    id_token: str | None


class Worker:
    """One browser + RP pair on one connection."""

    def __init__(self, target: Target, recorder: Recorder) -> None:
        self.target = target
        self.recorder = recorder
        self.connection = Connection(target.host, target.port)
        self.jar = CookieJar()
        self.tokens: Tokens | None = None

    async def send(self, method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Response:
        headers = dict(headers or {})
        cookie = self.jar.header()
        if cookie:
            headers["Cookie"] = cookie
        response = await self.connection.request(method, target_of(url), headers=headers, body=body)
        self.jar.update(response.set_cookies)
        self.recorder.request(response)
        return response

    async def authorize(self, rp: RelyingParty, *, allow_login: bool = True) -> tuple[str, str]:
        """Run the front channel until the RP's redirect_uri gets a code; return (code, verifier)."""
        verifier = secrets.token_urlsafe(32)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(12)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": rp.client_id,
                "redirect_uri": rp.redirect_uri,
                "scope": self.target.scope,
                "state": state,
                "nonce": secrets.token_urlsafe(12),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        url = f"{self.target.metadata['authorization_endpoint']}?{query}"
        response = await self.send("GET", url)
        for _step in range(12):
            if response.status in (301, 302, 303, 307):
                location = urljoin(url, response.header("location") or "")
                if location.startswith(rp.redirect_uri):
                    params = parse_qs(urlsplit(location).query)
                    if "code" not in params:
                        raise FlowError(f"redirect without code: {params.get('error', ['?'])[0]}")
                    if params.get("state") != [state]:
                        raise FlowError("state mismatch")
                    return params["code"][0], verifier
                url = location
                response = await self.send("GET", url)
            elif response.status == 200 and b"<form" in response.body:
                form = login_form(response.body.decode("utf-8", "replace"))
                if form is None or not form.has_password:
                    raise FlowError("a form without a password field (consent?) interrupted the flow")
                if not allow_login:
                    raise FlowError("a login form appeared where the SSO session should have answered")
                url = urljoin(url, form.action or url)
                headers, body = form_body(form.fill(self.target.username, self.target.password))
                response = await self.send("POST", url, headers, body)
            else:
                raise FlowError(f"authorize step answered {response.status}: {response.body[:160]!r}")
        raise FlowError("too many steps in the authorization flow")

    async def token(self, rp: RelyingParty, fields: dict[str, str]) -> dict:
        headers, body = form_body(fields)
        headers["Authorization"] = basic_auth(rp.client_id, rp.client_secret)
        response = await self.send("POST", self.target.metadata["token_endpoint"], headers, body)
        if response.status != 200:
            raise FlowError(f"token endpoint answered {response.status}: {response.body[:200]!r}")
        return json.loads(response.body)

    async def exchange_code(self, rp: RelyingParty, code: str, verifier: str) -> Tokens:
        answer = await self.token(
            rp,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": rp.redirect_uri,
                "code_verifier": verifier,
            },
        )
        if "id_token" not in answer:
            raise FlowError("no id_token in the code exchange")
        return Tokens(answer["access_token"], answer.get("refresh_token"), answer["id_token"])

    async def userinfo(self, access_token: str) -> dict:
        response = await self.send(
            "GET", self.target.metadata["userinfo_endpoint"], {"Authorization": f"Bearer {access_token}"}
        )
        if response.status != 200:
            raise FlowError(f"userinfo answered {response.status}: {response.body[:200]!r}")
        return json.loads(response.body)

    async def refresh(self, rp: RelyingParty) -> None:
        assert self.tokens is not None and self.tokens.refresh_token
        answer = await self.token(rp, {"grant_type": "refresh_token", "refresh_token": self.tokens.refresh_token})
        new_refresh = answer.get("refresh_token")
        if not new_refresh or new_refresh == self.tokens.refresh_token:
            raise FlowError("refresh token was not rotated")
        self.tokens = Tokens(answer["access_token"], new_refresh, answer.get("id_token"))


# The flows: each is one unit of work a relying party and a person would notice.


async def sign_in(worker: Worker) -> None:
    """authorize -> login -> code -> token -> userinfo, as a new browser."""
    worker.jar = CookieJar()
    code, verifier = await worker.authorize(worker.target.rp1)
    worker.tokens = await worker.exchange_code(worker.target.rp1, code, verifier)
    await worker.userinfo(worker.tokens.access_token)


async def refresh(worker: Worker) -> None:
    await worker.refresh(worker.target.rp1)


async def sso_join(worker: Worker) -> None:
    """A second RP's authorize answered by the existing session, then its code exchange."""
    code, verifier = await worker.authorize(worker.target.rp2, allow_login=False)
    await worker.exchange_code(worker.target.rp2, code, verifier)


FLOWS: dict[str, tuple[Callable[[Worker], Awaitable[None]] | None, Callable[[Worker], Awaitable[None]]]] = {
    # name: (setup per worker, measured flow)
    "sign_in": (None, sign_in),
    "refresh": (sign_in, refresh),
    "sso_join": (sign_in, sso_join),
}


async def run_flow(
    target: Target,
    flow_name: str,
    *,
    connections: int,
    duration: float,
    on_start: Callable[[], None] = lambda: None,
) -> Recorder:
    """Set every worker up, call ``on_start`` (CPU/DB snapshots), run the flow for ``duration`` s."""
    setup, flow = FLOWS[flow_name]
    recorder = Recorder()
    workers = [Worker(target, recorder) for _ in range(connections)]
    if setup is not None:
        await asyncio.gather(*(setup(w) for w in workers))
    on_start()
    recorder.active = True
    deadline = time.perf_counter() + duration

    async def loop(worker: Worker) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await flow(worker)
            except (TimeoutError, FlowError, OSError, ValueError, KeyError) as exc:
                recorder.error(exc)
                await worker.connection.close()
                if setup is not None:  # the worker's session or token may be gone: set it up again
                    worker.recorder = Recorder()  # not measured
                    try:
                        await setup(worker)
                    except (TimeoutError, FlowError, OSError, ValueError, KeyError) as again:
                        recorder.error(again)
                        await asyncio.sleep(0.1)
                    finally:
                        worker.recorder = recorder
                continue
            recorder.flow(time.perf_counter() - started)

    await asyncio.gather(*(loop(w) for w in workers))
    recorder.active = False
    for worker in workers:
        await worker.connection.close()
    return recorder


async def one_sign_in(target: Target) -> Tokens:
    """A single sign-in outside any measurement (tokens for the wrk workloads)."""
    worker = Worker(target, Recorder())
    try:
        await sign_in(worker)
    finally:
        await worker.connection.close()
    assert worker.tokens is not None
    return worker.tokens
