"""A software WebAuthn authenticator for tests that run without a browser: it answers the options our
pages give with what a real authenticator and browser would send (``none`` attestation, ES256,
clientDataJSON for an origin), so the ceremonies are checked by the real ``webauthn`` library.
The browser tests use Chromium's own virtual authenticator instead."""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

AAGUID = bytes.fromhex("00112233445566778899aabbccddeeff")
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


@dataclass
class SoftCredential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    origin: str
    rp_id: str
    verifies_user: bool = True
    backed_up: bool = False
    credentials: list[SoftCredential] = field(default_factory=list)

    def _flags(self, extra: int = 0) -> int:
        return UP | (UV if self.verifies_user else 0) | ((BE | BS) if self.backed_up else 0) | extra

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options_json: str, *, origin: str | None = None) -> str:
        """The registration response (JSON) to ``PublicKeyCredentialCreationOptions``."""
        options = json.loads(options_json)
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        credential = SoftCredential(secrets.token_bytes(32), key, base64url_to_bytes(options["user"]["id"]))
        self.credentials.append(credential)
        attested = AAGUID + struct.pack(">H", len(credential.credential_id)) + credential.credential_id + cose
        auth_data = hashlib.sha256(self.rp_id.encode()).digest() + bytes([self._flags(AT)]) + struct.pack(">I", 0) \
            + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        cid = bytes_to_base64url(credential.credential_id)
        return json.dumps({"id": cid, "rawId": cid, "type": "public-key", "response": {
            "clientDataJSON": bytes_to_base64url(client_data), "attestationObject": bytes_to_base64url(attestation),
            "transports": ["internal"]}, "clientExtensionResults": {}})

    def get(self, options_json: str, *, credential: SoftCredential | None = None, sign_count: int | None = None,
            origin: str | None = None) -> str:
        """The assertion (JSON) to ``PublicKeyCredentialRequestOptions``, from ``credential`` (default:
        the latest), its counter moved on by one unless ``sign_count`` is given."""
        options = json.loads(options_json)
        chosen = credential or self.credentials[-1]
        chosen.sign_count = chosen.sign_count + 1 if sign_count is None else sign_count
        auth_data = hashlib.sha256(self.rp_id.encode()).digest() + bytes([self._flags()]) \
            + struct.pack(">I", chosen.sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = chosen.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        cid = bytes_to_base64url(chosen.credential_id)
        response: dict[str, Any] = {"clientDataJSON": bytes_to_base64url(client_data),
                                    "authenticatorData": bytes_to_base64url(auth_data),
                                    "signature": bytes_to_base64url(signature),
                                    "userHandle": bytes_to_base64url(chosen.user_handle)}
        return json.dumps({"id": cid, "rawId": cid, "type": "public-key", "response": response,
                           "clientExtensionResults": {}})
