"""Signing in through each national sandbox upstream: the neutral Identity the broker gets
(normalised Vietnamese claims, acr from the mapping), one person across both upstreams, and
upstream logout. The browser is played by an HTTP client posting the sandbox's login form."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from adapters.base import RedirectAdapter
from adapters.config import AdapterContext
from adapters.oidc.adapter import OidcUpstreamAdapter
from adapters.oidc.config import OidcConfig
from idp.audit.sql import SqlAuditLog
from idp.identity.linking import link_identity
from idp.identity.protection import derive_identity_keys
from idp.sandbox import NationalSandbox
from idp.settings import Settings
from idp.storage.sql import SqlStorage
from tests.unit.sandbox.support import (  # noqa: F401 - fixtures
    CALLBACK,
    CLIENT,
    dvcqg_config,
    national,
    sandbox,
    sign_in,
    vneid_config,
)

Opened = list[OidcUpstreamAdapter]
KEYS = derive_identity_keys(b"demo-kek-for-tests-only-32bytes!")


@pytest.fixture
def opened() -> Iterator[Opened]:
    opened: list[OidcUpstreamAdapter] = []
    yield opened
    for adapter in opened:
        adapter.close()


def adapter_for(opened: Opened, config: OidcConfig) -> OidcUpstreamAdapter:
    adapter = OidcUpstreamAdapter(config)
    opened.append(adapter)
    return adapter


def test_sign_in_with_vneid(national: NationalSandbox, opened: Opened) -> None:  # noqa: F811
    adapter = adapter_for(opened, vneid_config(national))
    _: RedirectAdapter = adapter
    url, pending = adapter.begin(CALLBACK)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(national.vneid.base_url + "/realms/citizen/protocol/openid-connect/auth?")
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [pending["state"]]
    request, pending = sign_in(adapter, "048193004567")
    identity = adapter.complete(CALLBACK, request, pending)
    assert identity.adapter_id == "vneid" and identity.issuer == national.vneid.issuer
    assert identity.claims == {
        "vn_personal_id": "048193004567",
        "name": "Trần Thị Bích Ngọc",
        "family_name": "Trần",
        "middle_name": "Thị Bích",
        "given_name": "Ngọc",
        "email_verified": False,
        "vn_login_idp": "vneid",
    }
    # Keycloak's acr "1" is a normal login, not e-ID level 1: the lowest local level.
    assert identity.evidence["upstream_acr"] == "1" and identity.acr == "local-basic"
    assert identity.amr == ("fed",)


def test_vneid_acr_is_what_the_operator_mapped(national: NationalSandbox, opened: Opened) -> None:  # noqa: F811
    adapter = adapter_for(opened, vneid_config(national, acr_map={"1": "vneid-l1"}))
    request, pending = sign_in(adapter, "049085001234")
    assert adapter.complete(CALLBACK, request, pending).acr == "vneid-l1"


def test_sign_in_with_the_national_portal(national: NationalSandbox, opened: Opened) -> None:  # noqa: F811
    adapter = adapter_for(opened, dvcqg_config(national))
    url, _ = adapter.begin(CALLBACK)
    assert url.startswith(national.dvcqg.base_url + "/oauth2/authorize?")
    assert parse_qs(urlsplit(url).query)["acr_values"] == ["LoA1"]
    request, pending = sign_in(adapter, "046186012345")
    identity = adapter.complete(CALLBACK, request, pending)
    assert identity.claims == {
        "vn_personal_id": "046186012345",
        "name": "Phạm Thị Hồng Nhung",
        "family_name": "Phạm",
        "middle_name": "Thị Hồng",
        "given_name": "Nhung",
        "birthdate": "1986-01-05",
        "vn_account_type": "citizen",
        "vn_login_idp": "vneid",
        "vn_eid_level": 1,  # asked for LoA1 (nothing more was needed), answered at level 1
    }
    assert identity.evidence["upstream_acr"] == "LoA1" and identity.acr == "vneid-l1"


def test_one_person_through_both_upstreams(
    national: NationalSandbox, opened: Opened, storage: SqlStorage  # noqa: F811
) -> None:
    audit = SqlAuditLog(storage.db)
    subjects = []
    for config in (vneid_config(national), dvcqg_config(national)):
        adapter = adapter_for(opened, config)
        request, pending = sign_in(adapter, "049201000789")
        identity = adapter.complete(CALLBACK, request, pending)
        subjects.append(link_identity(storage, identity, hash_key=KEYS.hash_key, enc_key=KEYS.enc_key, audit=audit))
    assert subjects[0].id == subjects[1].id
    assert {link.adapter for link in storage.links.list_for_subject(subjects[0].id)} == {"vneid", "dvcqg"}


def test_the_upstream_session_ends_with_ours(national: NationalSandbox, opened: Opened) -> None:  # noqa: F811
    adapter = adapter_for(opened, vneid_config(national))
    request, pending = sign_in(adapter, "049085001234")
    identity = adapter.complete(CALLBACK, request, pending)
    logout = adapter.logout_request(identity.evidence["logout"], "http://127.0.0.1:8000/signed-out")
    assert logout is not None and logout.method == "POST"  # the ID token goes in a form, never a URL
    assert logout.url == national.vneid.issuer + "/protocol/openid-connect/logout"
    assert logout.params == {"id_token_hint": identity.evidence["logout"]["id_token_hint"],
                             "post_logout_redirect_uri": "http://127.0.0.1:8000/signed-out",
                             "client_id": CLIENT.client_id}


def test_an_upstream_logged_out_by_get_never_gets_the_id_token(
    national: NationalSandbox, opened: Opened  # noqa: F811
) -> None:
    adapter = adapter_for(opened, vneid_config(national, logout_method="get"))
    request, pending = sign_in(adapter, "049085001234")
    identity = adapter.complete(CALLBACK, request, pending)
    assert "id_token_hint" not in identity.evidence["logout"]  # not even kept: it would never be sent
    logout = adapter.logout_request(identity.evidence["logout"], "http://127.0.0.1:8000/signed-out")
    assert logout is not None and logout.method == "GET"
    assert set(logout.params) == {"client_id", "post_logout_redirect_uri", "logout_hint"}
    assert logout.params["logout_hint"] == identity.evidence["logout"]["sid"]


def test_a_rotated_upstream_key_is_picked_up(national: NationalSandbox, opened: Opened) -> None:  # noqa: F811
    adapter = adapter_for(opened, vneid_config(national, jwks_refresh_seconds=1))
    request, pending = sign_in(adapter, "049085001234")
    adapter.complete(CALLBACK, request, pending)
    fetched = adapter.keys.fetch_count
    national.vneid.rotate_key()
    request, pending = sign_in(adapter, "049085001234")
    time.sleep(1.05)  # the refetch period of this adapter
    assert adapter.complete(CALLBACK, request, pending).subject
    assert adapter.keys.fetch_count == fetched + 1


def test_discovery_is_used_when_configured(national: NationalSandbox, opened: Opened) -> None:  # noqa: F811
    config = OidcConfig(
        id="keycloak", type="oidc", issuer=national.vneid.issuer, client_id=CLIENT.client_id,
        client_secret=CLIENT.client_secret, timeout_seconds=2,
    )  # fmt: skip
    adapter = adapter_for(opened, config)
    request, pending = sign_in(adapter, "049085001234")
    identity = adapter.complete(CALLBACK, request, pending)
    assert "code_verifier" in pending  # the discovery document advertises S256
    # The generic adapter passes standard claims only: no personal ID number without a mapping.
    assert "vn_personal_id" not in identity.claims and identity.claims["preferred_username"] == "049085001234"


def test_the_demo_adapters_file_signs_in_against_a_fresh_sandbox(tmp_path: Path) -> None:
    from adapters.registry import read_adapters_file

    with NationalSandbox.start() as demo:
        path = tmp_path / "adapters.yaml"
        path.write_text(yaml.safe_dump({"adapters": demo.adapter_configs()}, allow_unicode=True), encoding="utf-8")
        configs = read_adapters_file(path)
        assert [c.id for c in configs] == ["vneid", "dvcqg"]
        for config in configs:
            adapter = config.open(AdapterContext(settings=Settings(data_dir=tmp_path)))
            assert isinstance(adapter, OidcUpstreamAdapter)
            try:
                request, pending = sign_in(adapter, "049066000321")
                assert adapter.complete(CALLBACK, request, pending).claims["name"] == "Hồ Đắc Lộc"
            finally:
                adapter.close()
