"""``idp sandbox serve`` starts the remote-signing simulator next to VNeID and the portal: it prints
a certificate adapter entry pointing at it and the trust file it wrote; a synthetic citizen's
request, confirmed in the "phone app", comes back as a signature the provider's own checks accept
at ``pki-remote`` under that trust file; refused, it carries no signature."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from adapters.certificate.config import CertificateConfig
from idp.net.outbound import OutboundPolicy
from idp.pki.cms import verify_cms
from idp.pki.trust import read_trust_file
from idp.pki.validation import PathValidator
from idp.sandbox import CITIZENS
from tests.functional.helpers import IDP, free_port

CHALLENGE = b"dang-nhap-thu"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path]]:
    """``idp sandbox serve`` running; its certificate adapter entry and the trust file it names."""
    folder = tmp_path_factory.mktemp("sandbox-trust")
    process = subprocess.Popen([*IDP, "sandbox", "serve", "--port", str(free_port()), "--trust-dir", str(folder)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while not any("remote_signing_api_key" in line for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, "".join(lines)
            lines.append(process.stdout.readline())
        trust = Path(lines[0].rsplit("IDP_TRUST_FILE=", 1)[1].strip())
        entry = next(a for a in yaml.safe_load("".join(lines[1:]))["adapters"] if a["type"] == "certificate")
        url = entry["remote_signing_url"]
        while httpx.get(url + "/v1/sign-requests/x", timeout=5).status_code != 401:  # until it listens
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield entry, trust
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def ask(entry: dict[str, Any], user_id: str) -> str:
    answer = httpx.post(entry["remote_signing_url"] + "/v1/sign-requests", timeout=10,
                        headers={"Authorization": f"Bearer {entry['remote_signing_api_key']}"},
                        json={"user_id": user_id, "data": base64.b64encode(CHALLENGE).decode()})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["request_id"])


def status(entry: dict[str, Any], request_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{entry['remote_signing_url']}/v1/sign-requests/{request_id}", timeout=10,
                       headers={"Authorization": f"Bearer {entry['remote_signing_api_key']}"})
    return dict(answer.json())


def test_the_printed_entry_and_trust_file_are_valid(served: tuple[dict[str, Any], Path]) -> None:
    entry, trust = served
    config = CertificateConfig.model_validate(entry)
    assert config.levels == ("pki-remote",) and config.remote_signing_url == entry["remote_signing_url"]
    assert read_trust_file(trust).get("sign_in") is not None


def test_a_confirmed_request_signs_in_at_pki_remote(served: tuple[dict[str, Any], Path]) -> None:
    entry, trust = served
    citizen = CITIZENS[0]
    request_id = ask(entry, f"CCCD:{citizen.personal_id}")
    assert status(entry, request_id) == {"status": "pending"}
    phone = httpx.post(f"{entry['remote_signing_url']}/phone/{request_id}/confirm", timeout=10)
    assert phone.status_code == 200
    answered = status(entry, request_id)
    assert answered["status"] == "confirmed"
    purpose = read_trust_file(trust).get("sign_in")
    assert purpose is not None
    reports = asyncio.run(verify_cms(base64.b64decode(answered["signature"]), CHALLENGE, purpose,
                                     PathValidator(OutboundPolicy())))
    signer = reports[0].signer
    assert reports[0].verdict == "valid" and signer is not None
    assert (signer.acr, signer.personal_id) == ("pki-remote", citizen.personal_id)


def test_a_refused_request_has_no_signature(served: tuple[dict[str, Any], Path]) -> None:
    entry, _ = served
    request_id = ask(entry, f"CCCD:{CITIZENS[1].personal_id}")
    httpx.post(f"{entry['remote_signing_url']}/phone/{request_id}/refuse", timeout=10)
    assert status(entry, request_id) == {"status": "refused"}
