"""The certificate adapter: a challenge signed on the SoftHSM2 token through the reference signing
tool signs an official in at pki-hw, linked by personal ID number; expired, revoked, untrusted and
wrong-usage certificates, a tampered or foreign signature, are refused with their reason."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import httpx
import pytest

from adapters.base import RequestData
from adapters.certificate.adapter import CertificateAdapter, CertificateRefused
from adapters.certificate.config import CertificateConfig
from adapters.config import AdapterContext
from idp.settings import Settings
from tests.unit.keys.softhsm import SoftHsm, softhsm  # noqa: F401 - fixture
from tests.unit.pki.corpus import cms_signature
from tests.unit.pki.support import TestPki, test_pki, test_pki_server  # noqa: F401 - fixtures
from tests.unit.pki.token import signing_tool

ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture
def adapter(test_pki: TestPki, tmp_path: Path) -> CertificateAdapter:  # noqa: F811
    config = CertificateConfig(id="chukyso", type="certificate", levels=("pki-hw", "pki-remote"))
    settings = Settings(data_dir=tmp_path, trust_file=test_pki.trust_file(), allow_loopback_client_urls=True)
    opened = config.open(AdapterContext(settings=settings))
    assert isinstance(opened, CertificateAdapter)
    return opened


def signed_with(signature: bytes) -> RequestData:
    return RequestData(form={"signature": base64.b64encode(signature).decode()})


def test_an_official_signs_in_with_the_token(adapter: CertificateAdapter, test_pki: TestPki,  # noqa: F811
                                             softhsm: SoftHsm, tmp_path: Path) -> None:  # noqa: F811
    pending = adapter.challenge()
    with signing_tool(softhsm, test_pki["official"], "official", origins=[ORIGIN]) as tool:
        answer = httpx.post(f"{tool.url}/sign", headers={"Origin": ORIGIN},
                            json={"data": base64.b64encode(pending["challenge"].encode()).decode()})
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == ORIGIN
        foreign = httpx.post(f"{tool.url}/sign", headers={"Origin": "https://evil.example"}, json={"data": "eA=="})
        assert foreign.status_code == 403 and tool.signed == 1
    signature = base64.b64decode(answer.json()["signature"])
    identity = adapter.authenticate(signed_with(signature), pending)
    assert (identity.acr, identity.amr, identity.subject) == ("pki-hw", ("hwk", "pin"), "CCCD:034088000123")
    assert identity.claims["vn_personal_id"] == "034088000123" and identity.claims["name"] == "Trần Thị Bình"
    assert identity.claims["vn_cert_uid"] == "CCCD:034088000123" and "Ban Cơ yếu" in identity.claims["vn_cert_issuer"]
    # OpenSSL reads the tool's CMS as valid too (the same chain, no revocation check)
    (tmp_path / "sig.der").write_bytes(signature)
    (tmp_path / "challenge").write_text(pending["challenge"], encoding="utf-8")
    (tmp_path / "root.pem").write_bytes(test_pki["gov-root"].pem)
    result = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.der", "-content",
                             "challenge", "-CAfile", "root.pem", "-purpose", "any", "-out", "/dev/null"],
                            cwd=tmp_path, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    with pytest.raises(CertificateRefused) as replayed:  # the same signature over another challenge
        adapter.authenticate(signed_with(signature), adapter.challenge())
    assert replayed.value.reason == "signature_invalid"


def test_a_business_certificate_maps_its_tax_code(adapter: CertificateAdapter, test_pki: TestPki) -> None:  # noqa: F811
    pending = adapter.challenge()
    identity = adapter.authenticate(signed_with(cms_signature(test_pki["business"], pending["challenge"].encode())),
                                    pending)
    assert identity.subject == "MST:0101234567" and identity.claims["vn_org_tax_code"] == "0101234567"
    assert "vn_personal_id" not in identity.claims
    remote = adapter.authenticate(signed_with(cms_signature(test_pki["remote"], pending["challenge"].encode())),
                                  pending)
    assert remote.acr == "pki-remote"


@pytest.mark.parametrize(("name", "reason"), [
    ("expired", "cert_expired"), ("revoked", "cert_revoked"), ("untrusted", "cert_untrusted"),
    ("wrong-usage", "cert_wrong_key_usage"), ("unmapped-policy", "cert_policy_not_allowed"),
])
def test_refusals_say_why(adapter: CertificateAdapter, test_pki: TestPki, name: str, reason: str) -> None:  # noqa: F811
    pending = adapter.challenge()
    with pytest.raises(CertificateRefused) as caught:
        adapter.authenticate(signed_with(cms_signature(test_pki[name], pending["challenge"].encode())), pending)
    assert caught.value.reason == reason


def test_revocation_unknown_under_hard_fail(adapter: CertificateAdapter, test_pki: TestPki) -> None:  # noqa: F811
    test_pki.revocations.ocsp_up = test_pki.revocations.crl_up = False
    pending = adapter.challenge()
    with pytest.raises(CertificateRefused) as caught:
        adapter.authenticate(signed_with(cms_signature(test_pki["citizen"], pending["challenge"].encode())), pending)
    assert caught.value.reason == "cert_revocation_unknown"


def test_levels_need_a_policy_in_the_trust_file(test_pki: TestPki, tmp_path: Path) -> None:  # noqa: F811
    trust = test_pki.trust_file()
    text = trust.read_text(encoding="utf-8").replace("      \"1.3.6.1.4.1.61234.1.2\": pki-remote\n", "")
    (test_pki.directory / "no-remote.yaml").write_text(text, encoding="utf-8")
    config = CertificateConfig(id="c", type="certificate", levels=("pki-remote",))
    with pytest.raises(ValueError, match="maps to 'pki-remote'"):
        config.open(AdapterContext(settings=Settings(data_dir=tmp_path,
                                                     trust_file=test_pki.directory / "no-remote.yaml")))
