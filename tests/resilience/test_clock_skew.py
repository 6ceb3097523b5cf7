"""Fault 5: clocks of replicas apart (libfaketime from Debian). Within the documented skew (the 60 s
leeway of every JWT time check, keys.verify.DEFAULT_LEEWAY_SECONDS) nothing fails: one proxied
replica 45 s ahead under load, with codes, sessions and tokens crossing between it and the others.
Past it a token is refused, not trusted: an access token from a replica 90 s ahead is "issued in
the future" for the others (introspection says inactive), and a replica 90 s behind refuses the
others' fresh tokens the same way. DPoP proofs have their own window (IDP_DPOP_PROOF_MAX_AGE_SECONDS,
60 s in the past and a fifth of it in the future): a client's proof is taken by a replica 45 s ahead
and refused, with ``invalid_dpop_proof``, by one 90 s ahead or 90 s behind."""

from __future__ import annotations

import glob

import httpx

from tests.functional.profile_rp import RpKey, dpop_proof
from tests.resilience.cluster import Cluster, Replica
from tests.resilience.figures import record
from tests.resilience.load import Load, check_nothing_lost

#: The Debian package faketime's library (deploy/dev/debian-packages.txt).
FAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))[0]
WITHIN, PAST = 45, 90


def _skew(seconds: int) -> dict[str, str]:
    return {"LD_PRELOAD": FAKETIME, "FAKETIME": f"{seconds:+d}s", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def _client_token(base: str, cluster: Cluster) -> str:
    response = httpx.post(base + "/token", data={"grant_type": "client_credentials"}, auth=("m2m", cluster.M2M_SECRET),
                          timeout=15, verify=cluster.tls)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _dpop_token(base: str, cluster: Cluster) -> httpx.Response:
    """A DPoP-bound client token asked of ``base`` with a proof made on this (unskewed) clock."""
    proof = dpop_proof(RpKey(), "POST", cluster.url + "/token")
    return httpx.post(base + "/token", data={"grant_type": "client_credentials"}, auth=("m2m", cluster.M2M_SECRET),
                      headers={"DPoP": proof}, timeout=15, verify=cluster.tls)


def _active(base: str, cluster: Cluster, token: str) -> bool:
    response = httpx.post(base + "/introspect", data={"token": token}, auth=("m2m", cluster.M2M_SECRET), timeout=15,
                          verify=cluster.tls)
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])


def test_skew_within_the_leeway_is_harmless_and_past_it_refused(cluster: Cluster) -> None:
    ahead = cluster.replicas[-1]
    with Load(cluster) as load:
        load.run_for(2)
        ahead.stop()
        ahead.extra_env = _skew(WITHIN)
        ahead.start()
        cluster.wait_all_up()
        load.run_for(8)
        within = _dpop_token(ahead.base, cluster)
        ahead.stop()
        ahead.extra_env = {}
        ahead.start()
        cluster.wait_all_up()
        load.run_for(1)
    assert load.failures() == {}, load.summary()
    assert within.status_code == 200 and within.json()["token_type"] == "DPoP", within.text
    stored = check_nothing_lost(cluster, load)
    record(f"One replica's clock {WITHIN} s ahead", load, stored)

    for name, seconds in (("ahead90", PAST), ("behind90", -PAST)):
        skewed = Replica(name, cluster.env, cluster.folder, extra_env=_skew(seconds))
        skewed.start()
        try:
            from_skewed = _client_token(skewed.base, cluster)
            from_others = _client_token(cluster.url, cluster)
            if seconds > 0:  # its tokens look issued in the future to the others
                assert not _active(cluster.url, cluster, from_skewed)
            else:  # the others' tokens look issued in the future to it
                assert not _active(skewed.base, cluster, from_others)
            assert _active(skewed.base, cluster, from_skewed) and _active(cluster.url, cluster, from_others)
            past = _dpop_token(skewed.base, cluster)  # the proof is 90 s old, or 90 s in the future, to it
            assert past.status_code in (400, 401) and past.json()["error"] == "invalid_dpop_proof", past.text
        finally:
            skewed.stop()
