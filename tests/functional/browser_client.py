"""A scripted person with a browser (cookies, forms) and a relying party, over real HTTP.

Only HTTP: it reads the pages the provider serves (login form, consent form) the way a browser
submits them, so these tests exercise exactly what people and relying parties see.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

FORM = re.compile(r"<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S)
INPUT = re.compile(r"<input[^>]*>", re.S)
ATTR = re.compile(r"(\w[\w-]*)=\"([^\"]*)\"")
BUTTON = re.compile(r"<button[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]+)\"", re.S)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def forms(html: str) -> list[tuple[str, dict[str, str], list[tuple[str, str]]]]:
    """(action, hidden and text inputs, submit buttons) of every form on a page."""
    result = []
    for action, body in FORM.findall(html):
        fields: dict[str, str] = {}
        for tag in INPUT.findall(body):
            attrs = dict(ATTR.findall(tag))
            if "name" in attrs:
                fields[attrs["name"]] = unescape(attrs.get("value", ""))
        result.append((unescape(action), fields, BUTTON.findall(body)))
    return result


@dataclass
class Browser:
    """One person's browser: a cookie jar that follows the provider's redirects until it leaves."""

    base: str
    #: How the provider's TLS certificate is checked (an ``ssl.SSLContext`` with a test CA behind a proxy).
    verify: Any = True
    timeout: float = 30
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base, follow_redirects=False, timeout=self.timeout, verify=self.verify)

    def close(self) -> None:
        self.http.close()

    def follow(self, response: httpx.Response, *, stop_at: str) -> httpx.Response:
        """Follow redirects while they stay on the provider; stop at ``stop_at`` (the RP)."""
        for _ in range(20):
            if response.status_code not in (302, 303) or "location" not in response.headers:
                return response
            target = urljoin(str(response.request.url), response.headers["location"])
            if target.startswith(stop_at):
                return response
            response = self.http.get(target)
        raise AssertionError("redirect loop")

    def submit(self, page: httpx.Response, data: dict[str, str], *, form_index: int = 0) -> httpx.Response:
        action, fields, _ = forms(page.text)[form_index]
        return self.http.post(urljoin(str(page.request.url), action), data={**fields, **data})


@dataclass
class AuthorizationRun:
    """The relying party's side of one authorization: its parameters and what came back."""

    client_id: str
    redirect_uri: str
    scope: str = "openid profile email"
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    verifier: str = ""
    challenge: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.verifier, self.challenge = pkce_pair()

    def params(self) -> dict[str, str]:
        return {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                "scope": self.scope, "state": self.state, "nonce": self.nonce, "code_challenge": self.challenge,
                "code_challenge_method": "S256", **self.extra}


def callback_params(response: httpx.Response) -> dict[str, str]:
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(browser: Browser, run: AuthorizationRun, username: str, password: str, *,
            consent: bool = True) -> dict[str, str]:
    """Run the whole front channel; return the parameters the relying party receives."""
    response = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    if response.status_code == 200 and 'name="password"' in response.text:
        response = browser.follow(browser.submit(response, {"username": username, "password": password}),
                                  stop_at=run.redirect_uri)
    if response.status_code == 200 and 'name="decision"' in response.text:
        response = browser.follow(browser.submit(response, {"decision": "allow" if consent else "deny"}),
                                  stop_at=run.redirect_uri)
    assert response.status_code in (302, 303), response.text[:2000]
    return callback_params(response)
