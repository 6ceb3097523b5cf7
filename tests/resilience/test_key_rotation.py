"""Fault 6: signing keys rotated twice under load (each rotation promotes the published next key
and retires the current one, which stays published while tokens it signed may be alive). A relying
party that caches the JWKS for exactly its max-age, and never fetches it earlier (not even for an
unknown kid), verifies every ID token it receives at once with python-jose: none fails, because
each new key was published a max-age before it signed."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

from jose import jwt

from tests.resilience.cluster import REPLICA_SETTINGS, Cluster
from tests.resilience.figures import record
from tests.resilience.load import Load, check_nothing_lost


class CachingRelyingParty:
    """Keeps the provider's JWKS for the max-age it was served with; verifies ID tokens from it."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.keys: dict[str, dict[str, Any]] = {}
        self.expires = 0.0
        self.verified = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def _keys(self) -> dict[str, dict[str, Any]]:
        if time.monotonic() >= self.expires:
            with self.cluster.client() as http:
                response = http.get("/jwks")
            age = re.search(r"max-age=(\d+)", response.headers.get("cache-control", ""))
            self.keys = {key["kid"]: key for key in response.json()["keys"]}
            self.expires = time.monotonic() + (int(age.group(1)) if age else 0)
        return self.keys

    def receive(self, tokens: dict[str, Any]) -> None:
        id_token = tokens["id_token"]
        with self._lock:
            kid = jwt.get_unverified_header(id_token)["kid"]
            key = self._keys().get(kid)
            try:
                assert key is not None, f"kid {kid} not in the cached JWKS"
                jwt.decode(id_token, key, algorithms=[key["alg"]], audience="portal", issuer=self.cluster.url,
                           options={"verify_at_hash": False})
                self.verified += 1
            except Exception as exc:  # noqa: BLE001 - every failure is one to report
                self.failures.append(f"{kid}: {exc}")


def test_keys_rotated_under_load(cluster: Cluster) -> None:
    max_age = int(REPLICA_SETTINGS["IDP_JWKS_MAX_AGE_SECONDS"])
    relying_party = CachingRelyingParty(cluster)
    rotations = []
    with Load(cluster, on_tokens=relying_party.receive) as load:
        load.run_for(3)
        for _ in range(2):
            rotated = json.loads(cluster.idp(["keys", "rotate", "--alg", "ES256"]).stdout)
            rotations.append(rotated)
            # The next rotation may only promote a key every cache has seen: wait a max-age and a refresh.
            load.run_for(max_age + float(REPLICA_SETTINGS["IDP_KEY_REFRESH_SECONDS"]) + 1)
    assert rotations[0]["current"] != rotations[1]["current"]
    assert rotations[1]["retired"] == rotations[0]["current"]
    with cluster.client() as http:
        published = {key["kid"] for key in http.get("/jwks").json()["keys"]}
    assert rotations[1]["current"] in published
    assert relying_party.failures == [] and relying_party.verified >= 5, relying_party.failures
    assert load.failures() == {}, load.summary()
    stored = check_nothing_lost(cluster, load)
    record("Two key rotations under load (RP caching the JWKS for its max-age)",
           load, {**stored, "id_tokens_verified_by_the_rp": relying_party.verified})
