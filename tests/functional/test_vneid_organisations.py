"""Organisation e-ID accounts through VNeID: the legal representative of a sandbox organisation
signs in with its account at VNeID's sandbox; the service's ID token (verified with python-jose)
and userinfo carry the organisation's claims and its representative's name, never the
representative's personal ID number, and
its ``sub`` is the one the same organisation has through the national portal (both derived from
its tax code). Discovery lists the organisation claims because the VNeID profile is configured
for organisation accounts (the unconfigured profile: test_federation_organisations).

Only HTTP, as people and relying parties see it (the deployment of test_organisation_signin).
"""

from __future__ import annotations

import httpx

from tests.functional.browser_client import Browser
from tests.functional.test_federation_browser import Deployment, consent_and_code, redeem, upstream_sign_in
from tests.functional.test_organisation_signin import (  # noqa: F401 - fixtures
    SONG_HAN,
    deployment,
    run_for,
)


def signed_in_organisation(dep: Deployment, adapter: str) -> dict:
    person = Browser(dep.base)
    try:
        run = run_for(dep, "portal")
        return redeem(dep, run, consent_and_code(person, run, upstream_sign_in(person, run, adapter,
                                                                               SONG_HAN.account))["code"])
    finally:
        person.close()


def test_an_organisation_signs_in_through_vneid(deployment: Deployment) -> None:  # noqa: F811
    tokens = signed_in_organisation(deployment, "vneid")  # python-jose verifies the ID token
    assert tokens["id_token"]["aud"] == "portal"
    userinfo = tokens["userinfo"]
    assert userinfo["vn_org_tax_code"] == SONG_HAN.tax_code and userinfo["vn_org_eid"] == SONG_HAN.org_eid
    assert userinfo["vn_org_name"] == userinfo["name"] == SONG_HAN.name
    assert userinfo["vn_org_representative"] == "Nguyễn Văn An"  # the representative, by name only
    assert SONG_HAN.representative not in str(tokens)  # the representative's number, nowhere
    discovery = httpx.get(deployment.base + "/.well-known/openid-configuration", timeout=30).json()
    assert {"vn_org_tax_code", "vn_org_eid", "vn_org_name", "vn_org_representative"} <= set(
        discovery["claims_supported"])


def test_the_same_organisation_has_one_sub_through_the_portal_and_vneid(
        deployment: Deployment) -> None:  # noqa: F811
    through_vneid = signed_in_organisation(deployment, "vneid")
    through_portal = signed_in_organisation(deployment, "dvcqg")
    assert through_vneid["userinfo"]["vn_org_tax_code"] == through_portal["userinfo"]["vn_org_tax_code"]
    assert through_vneid["id_token"]["sub"] == through_portal["id_token"]["sub"] == through_portal["userinfo"]["sub"]
