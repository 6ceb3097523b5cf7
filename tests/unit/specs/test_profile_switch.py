"""The strict-profile switch (what discovery advertises for it: tests/unit/endpoints/test_discovery.py)."""

from __future__ import annotations

from idp.settings import Settings
from idp.specs.profile import auth_method_allowed, is_strict, requires_dpop, requires_par, signing_algorithms
from idp.storage.models import Client


def client(auth_method: str = "client_secret_basic", **extra: object) -> Client:
    return Client(client_id="rp", name="rp", auth_method=auth_method, redirect_uris=(), extra=dict(extra))


def test_off_by_default_and_per_client() -> None:
    settings = Settings()
    plain, strict = client(), client("private_key_jwt", strict_profile=True)
    assert not is_strict(settings, plain) and is_strict(settings, strict)
    assert not requires_par(settings, plain) and requires_par(settings, strict)
    assert requires_par(settings, client(require_pushed_authorization_requests=True))
    assert not requires_dpop(settings, plain) and requires_dpop(settings, strict)
    assert requires_dpop(settings, client(dpop_bound_access_tokens=True))
    assert signing_algorithms(settings, strict) == ("ES256", "PS256")
    assert "RS256" in signing_algorithms(settings, plain)
    assert auth_method_allowed(settings, plain, "client_secret_basic")
    assert not auth_method_allowed(settings, client(strict_profile=True), "client_secret_basic")


def test_global_switch_applies_to_everyone() -> None:
    settings = Settings(strict_profile=True)
    assert is_strict(settings, client()) and requires_par(settings, client())
    assert not auth_method_allowed(settings, client(), "client_secret_post")
    assert auth_method_allowed(settings, client(), "private_key_jwt")
