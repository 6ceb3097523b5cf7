"""A small load on the cluster while a fault happens: people signing in (authorize, password,
consent, code exchange), relying parties refreshing their tokens, and a machine client asking for
client_credentials tokens, a few requests a second. Every attempt is recorded with its outcome, so
a test can account for each failure, and every grant it got can be checked afterwards."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.functional.browser_client import AuthorizationRun, Browser, sign_in
from tests.resilience.cluster import Cluster

OK = "ok"


@dataclass(frozen=True)
class Attempt:
    """One operation: ``kind`` (sign_in, refresh, client_credentials), what came of it, when."""

    kind: str
    outcome: str
    started: float
    ended: float


@dataclass
class Held:
    """A refresh token the relying party holds; ``doubtful`` once a refresh with it got no answer
    (the server may have rotated it: using it again would be a replay). A 503 is an answer: the
    provider's says nothing took effect (a rotation is undone), the proxy's that no replica got it."""

    token: str
    doubtful: bool = False


def describe(response: httpx.Response) -> str:
    """``OK`` for a 200, else the status and the OAuth error (or the start of the body)."""
    if response.status_code == 200:
        return OK
    try:
        error = json.loads(response.text).get("error", "")
    except ValueError:
        error = "page" if response.request.url.path.endswith("/token") is False else "(not JSON)"
        if "<h1>503 Service Unavailable" in response.text:
            error = "from the proxy (no replica ready)"
    return f"{response.status_code} {error}".strip()


@dataclass
class Load:
    """Background workers, each cycling sign-in, refresh, client_credentials with a pause."""

    cluster: Cluster
    workers: int = 2
    pause: float = 0.15
    #: Called with every token response of a sign-in (a relying party checking its ID token).
    on_tokens: Callable[[dict[str, Any]], None] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    #: Every answer of 500 or above: (status, path), when.
    server_errors: list[tuple[int, str, float]] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Load:
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def run_for(self, seconds: float) -> None:
        time.sleep(seconds)

    def _record(self, kind: str, outcome: str, started: float) -> None:
        with self._lock:
            self.attempts.append(Attempt(kind, outcome, started, time.monotonic()))

    def _watch(self, response: httpx.Response) -> None:
        if response.status_code >= 500:
            with self._lock:
                self.server_errors.append((response.status_code, response.request.url.path, time.monotonic()))

    def _client(self) -> httpx.Client:
        return self.cluster.client(event_hooks={"response": [self._watch]})

    def _work(self, index: int) -> None:
        machine = self._client()
        relying_party = self._client()
        step = index
        while not self._stop.is_set():
            operation = (self._sign_in, self._refresh, self._client_credentials)[step % 3]
            step += 1
            operation(relying_party if operation != self._client_credentials else machine)
            self._stop.wait(self.pause)
        machine.close()
        relying_party.close()

    def _guard(self, kind: str, body: Any) -> None:
        started = time.monotonic()
        try:
            outcome = body()
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        except AssertionError:
            outcome = "unexpected page"
        self._record(kind, outcome, started)

    def _sign_in(self, http: httpx.Client) -> None:
        def body() -> str:
            browser = Browser(self.cluster.url, verify=self.cluster.tls, timeout=30)
            browser.http.event_hooks["response"].append(self._watch)
            try:
                run = AuthorizationRun("portal", self.cluster.REDIRECT_URI, scope="openid profile offline_access")
                params = sign_in(browser, run, "canbo01", self.cluster.PASSWORD)
                if "code" not in params:
                    return "callback " + params.get("error", "?")
                response = http.post("/token", data={"grant_type": "authorization_code", "code": params["code"],
                                                     "redirect_uri": run.redirect_uri, "code_verifier": run.verifier},
                                     auth=("portal", self.cluster.PORTAL_SECRET))
                if response.status_code == 200:
                    with self._lock:
                        self.held.append(Held(response.json()["refresh_token"]))
                    if self.on_tokens is not None:
                        self.on_tokens(response.json())
                return describe(response)
            finally:
                browser.close()

        self._guard("sign_in", body)

    def _refresh(self, http: httpx.Client) -> None:
        with self._lock:
            usable = [held for held in self.held if not held.doubtful]
            if not usable:
                return
            held = usable[len(self.attempts) % len(usable)]
            held.doubtful = True  # no other worker uses it while this refresh runs

        def body() -> str:
            response = http.post("/token", data={"grant_type": "refresh_token", "refresh_token": held.token},
                                 auth=("portal", self.cluster.PORTAL_SECRET))
            if response.status_code == 200:
                held.token, held.doubtful = response.json()["refresh_token"], False
            elif response.status_code < 500 or response.status_code == 503:
                held.doubtful = False  # an answer: the token was not rotated
            return describe(response)

        self._guard("refresh", body)

    def _client_credentials(self, http: httpx.Client) -> None:
        self._guard("client_credentials", lambda: describe(
            http.post("/token", data={"grant_type": "client_credentials"}, auth=("m2m", self.cluster.M2M_SECRET))))

    # --- reading the record ---------------------------------------------------------------------

    def failures(self, *, between: tuple[float, float] | None = None) -> Counter[tuple[str, str]]:
        """(kind, outcome) of every failed attempt (that overlapped ``between``, when given)."""
        return Counter((a.kind, a.outcome) for a in self.attempts if a.outcome != OK and (
            between is None or (a.ended >= between[0] and a.started <= between[1])))

    def succeeded(self, kind: str) -> int:
        return sum(1 for a in self.attempts if a.kind == kind and a.outcome == OK)

    def summary(self) -> dict[str, Any]:
        """Figures for docs/resilience.md: attempts and successes by kind, failures by kind."""
        kinds = sorted({a.kind for a in self.attempts})
        statuses = Counter(f"{status} {re.sub(r'/[A-Za-z0-9_-]{20,}', '/{id}', path)}"
                           for status, path, _ in self.server_errors)
        return {"attempts": {k: sum(1 for a in self.attempts if a.kind == k) for k in kinds},
                "succeeded": {k: self.succeeded(k) for k in kinds},
                "failures": {f"{k}: {o}": n for (k, o), n in sorted(self.failures().items())},
                "answers_5xx": dict(sorted(statuses.items()))}

    def server_error_statuses(self) -> set[int]:
        return {status for status, _, _ in self.server_errors}


def audit_events(cluster: Cluster) -> list[dict[str, Any]]:
    exported = cluster.idp(["audit", "export", "--since", "1d", "--format", "jsonl"]).stdout
    return [json.loads(line) for line in exported.splitlines() if line.strip()]


def check_nothing_lost(cluster: Cluster, load: Load, *, unanswered_may_be_lost: bool = True) -> dict[str, int]:
    """What was stored survived the fault: every refresh token the relying party holds still works
    (no grant lost or half-issued), each successful token response has its committed audit event,
    no event is duplicated, and ``idp audit verify`` passes. Returns the counts it checked.

    A refresh answered 503 took no effect, so its token must still work. A token whose last refresh
    got no answer at all (a dropped connection, a 502 or 504 from the proxy) is tried too but not
    asserted unless ``unanswered_may_be_lost`` is False: the server may have rotated it and sent a
    response that never arrived, and then the old one reads as a replay that ends the grant. How
    many grants ended so is counted (and reported in docs/resilience.md)."""
    with cluster.client() as http:
        lost, doubtful = [], Counter[str]()
        for held in load.held:
            response = http.post("/token", data={"grant_type": "refresh_token", "refresh_token": held.token},
                                 auth=("portal", cluster.PORTAL_SECRET))
            if response.status_code == 200:
                held.token = response.json()["refresh_token"]
            if held.doubtful and unanswered_may_be_lost:  # no answer: the grant may have rotated, see figures
                doubtful[describe(response)] += 1
            elif response.status_code != 200:
                lost.append(describe(response))
            held.doubtful = False
    assert not lost, f"grants lost: {lost}"
    events = audit_events(cluster)
    seqs = [event["seq"] for event in events]
    assert len(seqs) == len(set(seqs)), "an audit event is duplicated"

    def count(type_: str, grant_type: str) -> int:
        return sum(1 for e in events if e["type"] == type_ and e["outcome"] == "success"
                   and e.get("details", {}).get("grant_type") == grant_type)

    issued, refreshed = count("token.issued", "authorization_code"), count("token.refreshed", "refresh_token")
    machine = count("token.issued", "client_credentials")
    assert issued >= load.succeeded("sign_in"), (issued, load.succeeded("sign_in"))
    assert refreshed >= load.succeeded("refresh"), (refreshed, load.succeeded("refresh"))
    assert machine >= load.succeeded("client_credentials"), (machine, load.succeeded("client_credentials"))
    verified = run_idp_verify(cluster)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return {"grants_checked": len(load.held), "audit_events": len(events),
            "grants_lost_after_an_unanswered_refresh": sum(n for outcome, n in doubtful.items() if outcome != OK)}


def run_idp_verify(cluster: Cluster) -> Any:
    from tests.functional.helpers import run_idp

    return run_idp(["audit", "verify"], cluster.env)
