"""Two people, two headless Chromium profiles: an attacker who controls a relying party and a
citizen signed in at the provider (issue 20, items 1 and 2).

1. The attacker signs in as themselves and, at the consent page, gets the citizen to open the
   resumption link of that pending request (``/authorize/resume/{id}``): the citizen sees a page
   that explains the refusal, no code reaches the relying party, and the attacker's own request
   (whose consent goes straight on to the relying party) only ever names the attacker.
2. The attacker signs in at VNeID (the national sandbox) and stops before the provider's
   ``/callback/vneid``, then gets the citizen to open that URL: the citizen's session is still the
   citizen's, and the audit trail records the refusal.

Stopping "just before" a redirect: the form post whose answer is that redirect is sent by the
attacker's browser itself (``route.fetch`` without following redirects) and the address it
leads to is kept instead of followed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.relying_party import LoopbackRelyingParty, authorize_url, landed_params
from tests.functional.browser_client import AuthorizationRun
from tests.functional.test_interaction_binding import (
    ATTACKER,
    CLIENT,
    REFUSAL,
    SCOPE,
    VICTIM,
    Deployment,
    binding_deployment,
)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployment, LoopbackRelyingParty]]:
    rp = LoopbackRelyingParty()
    rp.start()
    try:
        with binding_deployment(Path(tmp_path_factory.mktemp("binding-browser")), rp.base) as dep:
            yield dep, rp
    finally:
        rp.stop()


@pytest.fixture
def two_people(browser: Any) -> Iterator[tuple[Any, Any]]:
    """The attacker's browser profile and the citizen's (separate cookies)."""
    contexts = [browser.new_context(locale="vi-VN") for _ in range(2)]
    for context in contexts:
        context.set_default_timeout(10_000)
    yield contexts[0], contexts[1]
    for context in contexts:
        context.close()


def to_vneid(page: Any, deployment: Deployment, run: AuthorizationRun) -> None:
    """From the relying party's /authorize to the (simulated) VNeID page."""
    page.goto(authorize_url(deployment.base, run))
    page.locator("a[href$='/upstream/vneid']").click()
    page.wait_for_url("**/vneid/**")
    assert not page.url.startswith(deployment.base)


def choose_citizen(page: Any, citizen: str) -> None:
    page.locator(f"input[name=citizen][value='{citizen}']").check()
    page.get_by_role("button", name="Đồng ý và đăng nhập").click()


def citizen_signs_in(page: Any, deployment: Deployment, run: AuthorizationRun) -> dict[str, str]:
    """The citizen uses the service: VNeID, consent (if not given yet), back at the relying party."""
    to_vneid(page, deployment, run)
    choose_citizen(page, VICTIM[0])
    page.wait_for_url(lambda url: url.endswith("/consent") or url.startswith(run.redirect_uri))
    if page.url.endswith("/consent"):  # the first time only
        page.get_by_role("button", name="Đồng ý").click()
    return landed_params(page, run)


def stop_before_redirect(context: Any, url: str) -> list[str]:
    """Posts to ``url`` in this profile are sent without following their redirect; the list gets
    where each would have led, and the tab shows a blank page instead."""
    kept: list[str] = []

    def handle(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        answer = route.fetch(max_redirects=0)
        kept.append(answer.headers["location"])
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>stopped</title>")

    context.route(url, handle)
    return kept


def current_person(page: Any, deployment: Deployment, rp: LoopbackRelyingParty) -> str:
    """Whose session this profile holds at the provider: the name a silent request's code releases."""
    run = AuthorizationRun(CLIENT, rp.redirect_uri(CLIENT), scope=SCOPE, extra={"prompt": "none"})
    page.goto(authorize_url(deployment.base, run))
    return str(deployment.redeem(run, landed_params(page, run)["code"])["name"])


def test_a_pending_consent_handed_to_a_signed_in_citizen_issues_nothing(two_people: tuple, deployment: tuple) -> None:
    dep, rp = deployment
    attacker_context, victim_context = two_people
    victim = victim_context.new_page()
    citizen_signs_in(victim, dep, rp.run(CLIENT, SCOPE))

    attacker = attacker_context.new_page()
    run = rp.run(CLIENT, SCOPE)  # the attacker's request: their state, nonce and PKCE verifier
    to_vneid(attacker, dep, run)
    choose_citizen(attacker, ATTACKER[0])
    attacker.wait_for_url(f"{dep.base}/interaction/*/consent")  # signed in as themselves, asked to consent
    handed = "/authorize/resume/" + attacker.url.split("/interaction/")[1].split("/")[0]

    reached_rp: list[str] = []
    victim.on("request", lambda request: reached_rp.append(request.url) if request.url.startswith(rp.base) else None)
    victim.goto(dep.base + handed)  # the citizen opens the link the attacker sent
    assert victim.url.startswith(dep.base) and reached_rp == []  # no code reached the relying party
    assert victim.get_by_role("heading", level=1).inner_text() == REFUSAL
    assert "trình duyệt" in victim.locator("main").inner_text()  # it says why, in Vietnamese first

    # The attacker's own browser can still finish its own request (the consent goes straight on to
    # the relying party), and gets only the attacker.
    attacker.get_by_role("button", name="Đồng ý").click()
    own = landed_params(attacker, run)
    assert dep.redeem(run, own["code"])["name"] == ATTACKER[1]
    assert current_person(victim, dep, rp) == VICTIM[1]


def test_an_upstream_callback_loaded_by_the_citizen_keeps_their_session(two_people: tuple,
                                                                        deployment: tuple) -> None:
    dep, rp = deployment
    attacker_context, victim_context = two_people
    victim = victim_context.new_page()
    citizen_signs_in(victim, dep, rp.run(CLIENT, SCOPE))

    attacker = attacker_context.new_page()
    to_vneid(attacker, dep, rp.run(CLIENT, SCOPE))
    sandbox_origin = "/".join(attacker.url.split("/")[:3])
    callbacks = stop_before_redirect(attacker_context, f"{sandbox_origin}/**")
    choose_citizen(attacker, ATTACKER[0])  # signed in at VNeID as themselves, stopped before our callback
    attacker.wait_for_url(f"{sandbox_origin}/**")
    assert len(callbacks) == 1 and callbacks[0].startswith(f"{dep.base}/callback/vneid?")

    victim.goto(callbacks[0])  # e.g. a link or an image on the attacker's page
    assert victim.url == callbacks[0]  # stays on the refusal: no redirect to a consent page or a service
    assert victim.get_by_role("heading", level=1).inner_text() == REFUSAL
    assert current_person(victim, dep, rp) == VICTIM[1]  # still the citizen's own session
    with sqlite3.connect(dep.data / "idp.sqlite3") as db:
        refusals = db.execute("SELECT count(*) FROM audit_events WHERE type = 'signin' AND outcome = 'denied' "
                              "AND adapter = 'vneid' AND reason = 'foreign_browser'").fetchone()[0]
    assert refusals == 1
