"""Path validation against the generated test PKI: each kind of certificate gets its verdict,
revocation comes from OCSP (or the CRL when OCSP is down), and answers are cached until nextUpdate."""

from __future__ import annotations

import asyncio
import datetime

import pytest

from idp.net.outbound import OutboundPolicy
from idp.pki.revocation import RevocationCache
from idp.pki.trust import read_trust_file
from idp.pki.validation import PathValidator, to_asn1
from tests.unit.pki.support import RevocationServer, TestPki

LOOPBACK = OutboundPolicy(allow_loopback=True)


def verdict(pki: TestPki, name: str, *, validator: PathValidator | None = None, **trust_options: object):
    trust = read_trust_file(pki.trust_file(**trust_options)).get("sign_in")  # type: ignore[arg-type]
    assert trust is not None
    validator = validator or PathValidator(LOOPBACK)
    issued = pki[name]
    others = [to_asn1(c.cert) for c in issued.chain()[1:]]
    return asyncio.run(validator.validate(trust, to_asn1(issued.cert), others))


@pytest.mark.parametrize(("name", "status", "acr"), [
    ("citizen", "trusted", "pki-hw"),
    ("official", "trusted", "pki-hw"),
    ("business", "trusted", "pki-hw"),
    ("remote", "trusted", "pki-remote"),
    ("revoked", "revoked", "pki-hw"),
    ("expired", "expired", "pki-hw"),
    ("wrong-usage", "wrong_key_usage", "pki-hw"),
    ("untrusted", "untrusted", "pki-hw"),
    ("unmapped-policy", "policy_not_allowed", None),
])
def test_each_certificate_gets_its_verdict(test_pki: TestPki, name: str, status: str, acr: str | None) -> None:
    result = verdict(test_pki, name)
    assert (result.status, result.acr) == (status, acr), result.detail


def test_subjects_are_read(test_pki: TestPki) -> None:
    citizen = verdict(test_pki, "citizen")
    assert citizen.subject is not None and citizen.subject.personal_id == "001099012345"
    assert citizen.revocation.source == "ocsp"
    assert "Nguyễn Văn An" in citizen.chain[0] and "Root CA G2" in citizen.chain[-1]
    business = verdict(test_pki, "business")
    assert business.subject is not None and business.subject.tax_code == "0101234567"
    assert business.subject.personal_id is None


def test_crl_answers_when_ocsp_is_down(test_pki: TestPki) -> None:
    test_pki.revocations.ocsp_up = False
    assert verdict(test_pki, "revoked").status == "revoked"
    good = verdict(test_pki, "official")
    assert (good.status, good.revocation.source) == ("trusted", "crl")


def test_hard_fail_refuses_and_soft_fail_accepts_when_no_source_answers(test_pki: TestPki) -> None:
    test_pki.revocations.ocsp_up = False
    test_pki.revocations.crl_up = False
    assert verdict(test_pki, "citizen", mode="hard-fail").status == "revocation_unknown"
    assert verdict(test_pki, "citizen", mode="soft-fail").status == "trusted"


def test_answers_are_cached_until_next_update(test_pki_server: tuple[TestPki, RevocationServer]) -> None:
    pki, server = test_pki_server
    validator = PathValidator(LOOPBACK)
    before = len(server.requests)
    assert verdict(pki, "business", validator=validator).status == "trusted"
    asked = len(server.requests) - before
    assert asked >= 1
    assert verdict(pki, "business", validator=validator).status == "trusted"
    assert len(server.requests) - before == asked


def test_the_outbound_guard_refuses_loopback_unless_allowed(test_pki: TestPki) -> None:
    result = verdict(test_pki, "citizen", validator=PathValidator(OutboundPolicy()))
    assert result.status == "revocation_unknown"


def test_an_ocsp_answer_from_a_key_without_authority_is_not_believed(test_pki: TestPki) -> None:
    """A forged "good" for the revoked certificate: refused (the CRL then says revoked); with the CRL
    down too, the status is unknown (hard-fail), never "good"."""
    test_pki.revocations.ocsp_forged = True
    assert verdict(test_pki, "revoked").status == "revoked"
    test_pki.revocations.crl_up = False
    assert verdict(test_pki, "citizen").status == "revocation_unknown"


def test_the_cache_keeps_an_answer_an_hour_at_most() -> None:
    cache = RevocationCache()
    now = datetime.datetime.now(datetime.UTC)
    cache.put("k", b"answer", now + datetime.timedelta(days=365))  # a nextUpdate far away
    assert cache.get("k") == b"answer"
    assert cache.get("k", now + datetime.timedelta(minutes=61)) is None
