"""The strict-profile switch and what discovery advertises for it."""

from __future__ import annotations

from types import SimpleNamespace

from idp.endpoints.discovery import metadata
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


def provider(settings: Settings) -> SimpleNamespace:
    return SimpleNamespace(issuer="https://idp.example.vn", settings=settings, scopes_supported=("openid",),
                           acr_values_supported=(), ring=SimpleNamespace(algorithms=lambda: ["ES256"]))


def test_discovery_advertises_exactly_what_is_enabled() -> None:
    relaxed = metadata(provider(Settings()))  # type: ignore[arg-type]
    assert relaxed["require_pushed_authorization_requests"] is False
    assert "client_secret_basic" in relaxed["token_endpoint_auth_methods_supported"]
    assert "registration_endpoint" not in relaxed
    strict = metadata(provider(Settings(strict_profile=True, registration_enabled=True)))  # type: ignore[arg-type]
    assert strict["require_pushed_authorization_requests"] is True
    assert strict["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    for name in ("token_endpoint_auth_signing_alg_values_supported", "dpop_signing_alg_values_supported",
                 "request_object_signing_alg_values_supported"):
        assert strict[name] == ["ES256", "PS256"]
    assert strict["registration_endpoint"] == "https://idp.example.vn/register"
