"""Personal-data rights over HTTP (Law 91/2025): a citizen who signed in with VNeID to a service
sees what the provider holds about them and what the service received under which legal basis,
downloads it as JSON and HTML, and has it erased; afterwards the database holds nothing of them but
the audit trail, which names the erasure with the keyed hash of their personal ID number only.
"""

from __future__ import annotations

import json
import sqlite3

from tests.functional.browser_client import Browser
from tests.functional.test_federation_browser import (  # noqa: F401 - fixtures
    Deployment,
    browser,
    consent_and_code,
    deployment,
    redeem,
    run_for,
    upstream_sign_in,
)

CITIZEN = ("046186012345", "Phạm Thị Hồng Nhung")


def rows(dep: Deployment, query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(dep.data / "idp.sqlite3") as db:
        return db.execute(query, args).fetchall()


def test_a_citizen_downloads_then_erases_their_data(deployment: Deployment, browser: Browser) -> None:  # noqa: F811
    portal = run_for(deployment, "portal")
    params = consent_and_code(browser, portal, upstream_sign_in(browser, portal, "vneid", CITIZEN[0]))
    redeem(deployment, portal, params["code"])
    [(subject_id, personal_id_hash)] = rows(  # the only person of this module's deployment
        deployment, "SELECT s.id, s.personal_id_hash FROM subjects s JOIN identity_links l ON l.subject_id = s.id "
        "WHERE l.adapter = 'vneid'")

    exported = browser.http.get("/account/data.json")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    data = exported.json()
    assert data["profile"]["claims"]["vn_personal_id"] == CITIZEN[0]
    assert data["profile"]["claims"]["name"] == CITIZEN[1]
    assert [s["name"]["vi"] for s in data["identity_sources"]] == ["VNeID"]
    assert [c["client_id"] for c in data["consents"]] == ["portal"]
    [release] = [r for r in data["releases"] if r["client_id"] == "portal"]
    assert "vn_personal_id" in release["claims"]
    assert release["legal_basis"] == {"profile": "consent", "vn_id": "consent", "vn_eid": "consent"}

    page = browser.http.get("/account/data")
    assert page.status_code == 200 and CITIZEN[1] in page.text and "bạn đã đồng ý" in page.text
    assert "attachment" in browser.http.get("/account/data?download=html").headers["content-disposition"]

    unconfirmed = browser.submit(page, {"confirm": ""})
    assert unconfirmed.status_code == 303 and rows(deployment, "SELECT id FROM subjects WHERE id = ?", subject_id)
    erased = browser.submit(page, {"confirm": "erase"})
    assert erased.status_code == 200 and "đã được xóa" in erased.text
    assert browser.http.get("/account/data.json").status_code == 401  # signed out

    for table in ("subjects", "accounts", "identity_links", "consents", "grants", "person_factors", "passkeys"):
        column = "id" if table == "subjects" else "subject_id"
        assert rows(deployment, f"SELECT count(*) FROM {table} WHERE {column} = ?", subject_id) == [(0,)], table  # noqa: S608
    assert rows(deployment, "SELECT count(*) FROM subjects WHERE personal_id_hash = ?", personal_id_hash) == [(0,)]
    events = rows(deployment, "SELECT type, details FROM audit_events WHERE subject = ? "
                  "AND type LIKE 'personal_data.%' ORDER BY seq", subject_id)
    assert [e[0] for e in events] == ["personal_data.exported"] * 3 + ["personal_data.erased"]
    erasure = json.loads(events[-1][1])
    assert erasure["personal_id_hash"] == personal_id_hash and erasure["removed"]["subjects"] == 1
    everything = rows(deployment, "SELECT details, username FROM audit_events")
    assert CITIZEN[0] not in json.dumps(everything, ensure_ascii=False)  # the number itself, nowhere
