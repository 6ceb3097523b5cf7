"""A remote-signing service simulator (the shape of VNPT SmartCA or Viettel MySign): the signing key
is held by the service, and the person confirms each signature in a phone app. Loopback only.

API (``Authorization: Bearer <api key>`` of the relying service)::

    POST /v1/sign-requests        {"user_id": "CCCD:...", "data": base64, "description": "..."}
                                  -> 201 {"request_id": ..., "expires_in": seconds}; 404 unknown user
    GET  /v1/sign-requests/{id}   -> {"status": "pending"} | {"status": "confirmed", "signature": base64}
                                     | {"status": "refused"} | {"status": "expired"}

The signature is a CMS SignedData, detached, with the user's certificate chain (the same shape the
local signing tool returns). The "phone app" is ``POST /phone/{id}/confirm`` and
``POST /phone/{id}/refuse`` (the tests act as the person).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from idp.pki.signing_tool import cms_detached
from idp.sandbox.server import LoopbackServer

REQUEST_SECONDS = 120
MAX_DATA_BYTES = 64 * 1024


class KeySigner:
    """Signs SHA-256 digests with a key the service holds (the service's HSM, in a product)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    def sign_digest(self, digest: bytes) -> bytes:
        return bytes(self._key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256()))))


@dataclass
class RemoteUser:
    signer: KeySigner
    chain: Sequence[asn1_x509.Certificate]


@dataclass
class SignRequest:
    user_id: str
    data: bytes
    created: float
    status: str = "pending"
    signature: bytes | None = None


@dataclass
class RemoteSigningService:
    """The simulator: ``users`` by user id (``CCCD:<number>``), one API key, requests in memory."""

    users: dict[str, RemoteUser]
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    requests: dict[str, SignRequest] = field(default_factory=dict)
    base_url: str = ""
    _server: LoopbackServer | None = field(default=None, repr=False)

    def app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

        def authorised(request: Request) -> bool:
            scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.api_key.encode())

        @app.post("/v1/sign-requests")
        async def create(request: Request) -> JSONResponse:
            if not authorised(request):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            try:
                body: Any = await request.json()
                data = base64.b64decode(str(body["data"]), validate=True)
                user_id = str(body["user_id"])
            except (ValueError, KeyError, TypeError, binascii.Error):
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            if len(data) > MAX_DATA_BYTES:
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            if user_id not in self.users:
                return JSONResponse({"error": "unknown_user"}, status_code=404)
            request_id = secrets.token_urlsafe(16)
            self.requests[request_id] = SignRequest(user_id, data, time.time())
            return JSONResponse({"request_id": request_id, "expires_in": REQUEST_SECONDS}, status_code=201)

        @app.get("/v1/sign-requests/{request_id}")
        def status(request: Request, request_id: str) -> JSONResponse:
            if not authorised(request):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            found = self.requests.get(request_id)
            if found is None:
                return JSONResponse({"error": "not_found"}, status_code=404)
            if found.status == "pending" and time.time() - found.created > REQUEST_SECONDS:
                found.status = "expired"
            answer: dict[str, Any] = {"status": found.status}
            if found.signature is not None:
                answer["signature"] = base64.b64encode(found.signature).decode("ascii")
            return JSONResponse(answer)

        @app.post("/phone/{request_id}/{decision}")
        def phone(request_id: str, decision: str) -> JSONResponse:
            found = self.requests.get(request_id)
            if found is None or found.status != "pending" or decision not in ("confirm", "refuse"):
                return JSONResponse({"error": "not_pending"}, status_code=409)
            if decision == "refuse":
                found.status = "refused"
            else:
                user = self.users[found.user_id]
                found.signature = cms_detached(found.data, user.signer, user.chain)
                found.status = "confirmed"
            return JSONResponse({"status": found.status})

        return app

    def pending_for(self, user_id: str) -> str | None:
        """The newest pending request of ``user_id`` (what the phone app shows)."""
        pending = [(r.created, rid) for rid, r in self.requests.items() if r.user_id == user_id
                   and r.status == "pending"]
        return max(pending)[1] if pending else None

    def start(self) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._server = LoopbackServer(sock, self.app())
        self._server.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
