"""Discovery says only what can happen: a provider whose adapters are the two national sandboxes
lists the levels, claims and scopes that sign-ins through them actually yield (an organisation
account's ``vn_org_*`` too, and ``vn_acting_for`` for a person the portal names organisations
for), and nothing no adapter produces (no ``pki-hw``, ``cccd-chip``, ``vn_cert_*``,
``vn_official``).

The sign-ins are made with the very adapters the provider opened, against the sandboxes (a
level-2 and a level-1 citizen, asked for level 1 and level 2)."""

from __future__ import annotations

from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from adapters.base import UpstreamRequest
from idp.app import create_app
from idp.oidc.capabilities import PROTOCOL_CLAIMS
from idp.sandbox import NationalSandbox
from idp.settings import Settings
from policies.claims import SCOPE_CLAIMS
from policies.loa import level_from_token
from tests.unit.sandbox.support import CALLBACK, CLIENT, national, sandbox, sign_in  # noqa: F401 - fixtures

CITIZENS = ("048193004567", "049201000789")  # e-ID level 2, level 1
ORGANISATION = "MST:0401234567"  # an organisation e-ID account, at the national portal and VNeID
VNEID_LEVELS = {"1": "vneid-l1", "2": "vneid-l2"}  # as agreed with the national operator (sandbox)
POLICY = {"version": 1, "adapters": ["vneid", "dvcqg"], "minimum_acr": "vneid-l1",
          "scopes": ["openid", "profile", "vn_id", "vn_eid"]}


def test_discovery_lists_what_the_national_adapters_yield(tmp_path: Path, national: NationalSandbox) -> None:  # noqa: F811
    entries = national.adapter_configs(CLIENT, timeout_seconds=2)
    entries[0]["acr_map"] = VNEID_LEVELS
    entries[1]["token_endpoint_auth_method"] = "client_secret_post"
    path = tmp_path / "adapters.yaml"
    path.write_text(yaml.safe_dump({"adapters": entries}, allow_unicode=True), encoding="utf-8")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "default.yaml").write_text(yaml.safe_dump(POLICY), encoding="utf-8")
    app = create_app(Settings(data_dir=tmp_path / "var", adapters_file=path, policies_dir=tmp_path / "policies"))
    with TestClient(app, base_url="http://localhost:8000") as client:
        document = client.get("/.well-known/openid-configuration").json()
        provider = app.state.provider
        yielded_levels: set[str] = set()
        yielded_claims: set[str] = set()
        for entry in entries:
            adapter = provider.adapters.get(entry["id"])
            for account in (*CITIZENS, ORGANISATION):
                for level in ("vneid-l1", "vneid-l2"):
                    callback, pending = sign_in(adapter, account, UpstreamRequest(level=level))
                    identity = adapter.complete(CALLBACK, callback, pending)
                    yielded_levels.add(str(identity.acr))
                    yielded_claims.update(identity.claims)
                    if adapter.entitlements(identity):  # a person who may act for an organisation
                        yielded_claims.add("vn_acting_for")
        issuer = provider.issuer
    listed_levels = {uri.removeprefix(f"{issuer}/acr/") for uri in document["acr_values_supported"]}
    assert yielded_levels == {"vneid-l1", "vneid-l2"} <= listed_levels
    # Beyond what was reached: only the adapters' default for an answer they cannot map.
    assert listed_levels - yielded_levels == {"local-basic"}
    assert not {"cccd-chip", "pki-remote", "pki-hw", "local-mfa"} & listed_levels
    assert [level_from_token(t) for t in sorted(listed_levels, key=level_from_token)] == [
        level_from_token(uri.rsplit("/", 1)[1]) for uri in document["acr_values_supported"]]
    listed_claims = set(document["claims_supported"]) - PROTOCOL_CLAIMS
    assert yielded_claims <= listed_claims
    vietnamese = {claim for claim in listed_claims if claim.startswith("vn_")}
    assert vietnamese == {c for c in yielded_claims if c.startswith("vn_")} == {
        "vn_personal_id", "vn_eid_level", "vn_login_idp", "vn_account_type", "vn_org_tax_code", "vn_org_eid",
        "vn_org_name", "vn_acting_for", "vn_org_representative"}
    scopes = set(document["scopes_supported"])
    assert {"openid", "profile", "vn_id", "vn_eid", "vn_org"} <= scopes
    assert not {"vn_official", "vn_cert"} & scopes
    for scope in scopes - {"openid", "offline_access"}:
        assert SCOPE_CLAIMS[scope] & listed_claims, scope  # every scope listed releases something
