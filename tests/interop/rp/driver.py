"""The Python side of the openid-client runner (``runner.mjs``): start it, send commands, read replies.

The relying party is node's ``openid-client`` (panva), a library nobody here wrote; it has no
browser, so the test's scripted person (``tests.functional.browser_client.Browser``) walks the
login and consent pages and hands the callback back. The protocol is described in README.md.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

import httpx

from tests import interop
from tests.functional.browser_client import Browser, forms

HERE = Path(__file__).parent


class RelyingPartyError(Exception):
    """openid-client refused or failed an operation; ``error`` is what the runner described."""

    def __init__(self, op: str, error: dict[str, Any]) -> None:
        super().__init__(f"{op}: {error.get('code')} {error.get('error')} {error.get('message')}")
        self.op = op
        self.error = error

    @property
    def oauth_error(self) -> str | None:
        """The OAuth ``error`` code the provider answered with: in the JSON body or authorization
        response, else in the first ``WWW-Authenticate`` challenge."""
        if "error" in self.error:
            return str(self.error["error"])
        challenges = self.error.get("challenges") or [{}]
        return challenges[0].get("parameters", {}).get("error")


def node_with_packages() -> str:
    """The ``node`` binary, with this folder's packages installed from package-lock.json."""
    return interop.node_with_packages(HERE, "openid-client", "openid-client")


class NodeRelyingParty:
    """One runner process: one relying party (one client registration, one DPoP key)."""

    def __init__(self, node: str | None = None) -> None:
        self._errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(
            [node or node_with_packages(), "runner.mjs"], cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._errors, text=True, encoding="utf-8",
        )
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def call(self, op: str, *, timeout: float = 30, **args: Any) -> dict[str, Any]:
        """Run one command; its result, or RelyingPartyError when openid-client refused."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self._process.stdin.flush()
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"runner gave no answer to {op} in {timeout} s{self._stderr()}") from None
        if line is None:
            raise AssertionError(f"runner exited during {op}{self._stderr()}")
        reply = json.loads(line)
        if not reply.pop("ok"):
            raise RelyingPartyError(op, reply["error"])
        return dict(reply)

    def _stderr(self) -> str:
        self._errors.seek(0)
        text = self._errors.read()[-1500:]
        self._errors.seek(0, 2)
        return f"; runner stderr: {text}" if text else ""

    def close(self) -> None:
        if self._process.poll() is None:
            with contextlib.suppress(AssertionError, BrokenPipeError, OSError):
                self.call("quit", timeout=5)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._reader.join(timeout=5)  # it ends at the runner's end of output
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        self._errors.close()

    def __enter__(self) -> NodeRelyingParty:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def offline_access_prompt(scope: str, prompt: str | None = None) -> str | None:
    """The ``prompt`` a relying party sends with ``scope``, as OpenID Connect Core §11 tells it
    to: a request for ``offline_access`` carries ``consent`` (added to the values it already has;
    never to ``none``, which cannot be combined with another value)."""
    values = (prompt or "").split()
    if "offline_access" in scope.split() and "none" not in values and "consent" not in values:
        values.append("consent")
    return " ".join(values) or None


@dataclass(frozen=True)
class Callback:
    """What the provider sent back to the relying party: a redirect URL, or a form_post form."""

    url: str
    form: dict[str, str] | None = None

    def as_args(self) -> dict[str, Any]:
        return {"url": self.url, "form": self.form} if self.form is not None else {"url": self.url}


def front_channel(browser: Browser, url: str, redirect_uri: str, username: str | None = None,
                  password: str | None = None, *, consent: bool = True) -> Callback:
    """Walk the provider's pages from ``url`` (login and consent when shown) back to ``redirect_uri``."""

    def on(response: httpx.Response) -> httpx.Response:
        return browser.follow(response, stop_at=redirect_uri)

    response = on(browser.http.get(url))
    if response.status_code == 200 and 'name="password"' in response.text:
        assert username is not None and password is not None, "the provider asked for a login"
        response = on(browser.submit(response, {"username": username, "password": password}))
    if response.status_code == 200 and 'name="decision"' in response.text:
        response = on(browser.submit(response, {"decision": "allow" if consent else "deny"}))
        assert 'name="decision"' not in response.text, "the consent page came back after one answer"
    if response.status_code in (302, 303):
        return Callback(urljoin(str(response.request.url), response.headers["location"]))
    posted = [(action, fields) for action, fields, _ in forms(response.text) if action == redirect_uri]
    assert response.status_code == 200 and posted, response.text[:2000]
    return Callback(redirect_uri, posted[0][1])
