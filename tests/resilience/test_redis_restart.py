"""Fault 2: Redis restarts with its data lost, under load. Nothing is issued from a lost session:
people are asked to sign in again (a sign-in half done starts over with a readable page), a
person's access token fails closed, a client token revoked before stays revoked (its denial is in
the database too) while an unrevoked one still works, and an account the database knows is
disabled stays refused. Refresh tokens and consents live in the database and survive."""

from __future__ import annotations

import time

import httpx

from tests.functional.browser_client import AuthorizationRun, Browser, callback_params, sign_in
from tests.resilience.cluster import Cluster
from tests.resilience.figures import record
from tests.resilience.load import Load, check_nothing_lost


def _client_token(http: httpx.Client, cluster: Cluster) -> str:
    response = http.post("/token", data={"grant_type": "client_credentials"}, auth=("m2m", cluster.M2M_SECRET))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _active(http: httpx.Client, cluster: Cluster, token: str) -> bool:
    response = http.post("/introspect", data={"token": token}, auth=("m2m", cluster.M2M_SECRET))
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])


def test_redis_restarted_with_its_data_lost(cluster: Cluster) -> None:
    cluster.idp(["users", "add", "nghiviec01", "--password-stdin"], stdin=cluster.PASSWORD + "\n")
    cluster.idp(["users", "disable", "nghiviec01"])
    http = cluster.client()
    person = Browser(cluster.url, verify=cluster.tls)
    run = AuthorizationRun("portal", cluster.REDIRECT_URI, scope="openid profile offline_access")
    code = sign_in(person, run, "canbo01", cluster.PASSWORD)["code"]
    tokens = http.post("/token", data={"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": run.redirect_uri, "code_verifier": run.verifier},
                       auth=("portal", cluster.PORTAL_SECRET)).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert http.get("/userinfo", headers=bearer).status_code == 200
    revoked, kept = _client_token(http, cluster), _client_token(http, cluster)
    assert http.post("/revoke", data={"token": revoked}, auth=("m2m", cluster.M2M_SECRET)).status_code == 200
    assert not _active(http, cluster, revoked) and _active(http, cluster, kept)
    halfway = Browser(cluster.url, verify=cluster.tls)
    started = AuthorizationRun("portal", cluster.REDIRECT_URI)
    login = halfway.follow(halfway.http.get("/authorize", params=started.params()), stop_at=started.redirect_uri)
    assert 'name="password"' in login.text

    with Load(cluster) as load:
        load.run_for(3)
        lost_at = time.monotonic()
        cluster.redis.stop()
        cluster.redis.start()  # same port, empty
        cluster.wait_all_up()
        recovered_at = time.monotonic()
        load.run_for(5)

    # The sign-in half done: a readable refusal, never a code; starting over works.
    answer = halfway.submit(login, {"username": "canbo01", "password": cluster.PASSWORD})
    assert 400 <= answer.status_code < 500 and "<html" in answer.text.lower(), answer.status_code
    assert sign_in(halfway, AuthorizationRun("portal", cluster.REDIRECT_URI), "canbo01", cluster.PASSWORD)["code"]
    # The single sign-on session is gone: a silent request must ask for a sign-in.
    silent = AuthorizationRun("portal", cluster.REDIRECT_URI, extra={"prompt": "none"})
    assert callback_params(person.http.get("/authorize", params=silent.params()))["error"] == "login_required"
    # A person's access token fails closed; the grant behind it (database) still refreshes.
    assert http.get("/userinfo", headers=bearer).status_code == 401
    refreshed = http.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                          auth=("portal", cluster.PORTAL_SECRET))
    assert refreshed.status_code == 200, refreshed.text
    # A revoked client token stays revoked; an unrevoked one still works.
    assert not _active(http, cluster, revoked) and _active(http, cluster, kept)
    # A disabled account stays refused: the throttle's lost counters unlock nothing the database holds.
    refused = Browser(cluster.url, verify=cluster.tls)
    page = refused.follow(refused.http.get("/authorize", params=AuthorizationRun(
        "portal", cluster.REDIRECT_URI).params()), stop_at=cluster.REDIRECT_URI)
    assert refused.submit(page, {"username": "nghiviec01", "password": cluster.PASSWORD}).status_code == 401
    for browser in (person, halfway, refused):
        browser.close()
    http.close()

    # Only attempts that overlapped the restart failed, and with clear answers (no 500).
    window = load.failures(between=(lost_at, recovered_at + 2))
    assert load.failures() == window, load.summary()
    assert 500 not in load.server_error_statuses(), load.summary()
    stored = check_nothing_lost(cluster, load, unanswered_may_be_lost=False)  # zero lost grants
    record("Redis restarted, its data lost", load, stored)
