"""A reference local signing tool: what a Vietnamese signing plug-in does, in a few lines.

It runs on the person's computer, listens on loopback only, and signs with a key held in a
PKCS#11 token (a USB token; SoftHSM2 in the tests) through python-pkcs11. The sign-in page
(static/certificate.js) posts ``{"data": base64}`` to ``POST /sign`` and gets back
``{"signature": base64}``: a CMS SignedData, detached, with signed attributes (content type,
message digest, signing time), the signer's certificate and its chain. ``GET /`` says what it is.

Cross-origin calls are answered for the configured origins only (``--allow-origin``, the sign-in
service's origin), with Chrome's private-network preflight. The token's PIN is entered when the
tool starts (read from a file or standard input), never sent by a page. ECDSA (P-256) keys only.
Unlike a product plug-in, it signs every request from an allowed origin without asking the person
again: it is a reference for the protocol and the tests, not a tool to hand to citizens.

    python -m idp.pki.signing_tool --module /usr/lib/softhsm/libsofthsm2.so --token-label vn-idp \\
        --key-label official --certificates official-chain.pem --allow-origin https://id.tinh.gov.vn
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime
import hashlib
import json
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from asn1crypto import algos, cms, core, pem
from asn1crypto import x509 as asn1_x509

MAX_DATA_BYTES = 64 * 1024


class TokenSigner:
    """Signs SHA-256 digests with one private key of a PKCS#11 token (CKM_ECDSA, raw r||s)."""

    def __init__(self, module: Path, token_label: str, pin: str, key_label: str) -> None:
        import pkcs11
        from pkcs11 import KeyType, ObjectClass

        from keys.hsm import open_token_session

        self._session, self._lock = open_token_session(module, token_label, pin)
        try:
            self._key = self._session.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC,
                                              label=key_label)
        except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned):
            raise ValueError(f"no single EC private key labelled {key_label!r} on the token") from None

    def sign_digest(self, digest: bytes) -> bytes:
        from pkcs11 import Mechanism

        with self._lock:
            raw = bytes(self._key.sign(digest, mechanism=Mechanism.ECDSA))
        return bytes(algos.DSASignature.from_p1363(raw).dump())


class DigestSigner(Protocol):
    """Anything that signs a SHA-256 digest with the certificate's key (DER ECDSA signature)."""

    def sign_digest(self, digest: bytes) -> bytes: ...


def cms_detached(data: bytes, signer: DigestSigner, chain: Sequence[asn1_x509.Certificate],
                 now: datetime.datetime | None = None) -> bytes:
    """A DER CMS SignedData over ``data`` (detached) signed by ``signer``; ``chain[0]`` is its certificate."""
    certificate = chain[0]
    signing_time = cms.Time({"utc_time": core.UTCTime(now or datetime.datetime.now(datetime.UTC))})
    attributes = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(data).digest()]}),
        cms.CMSAttribute({"type": "signing_time", "values": [signing_time]}),
    ])
    signature = signer.sign_digest(hashlib.sha256(attributes.dump()).digest())
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber({
            "issuer": certificate.issuer, "serial_number": certificate.serial_number})}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": attributes,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
        "signature": signature,
    })
    signed = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": "data"},
        "certificates": [cms.CertificateChoices({"certificate": c}) for c in chain],
        "signer_infos": [signer_info],
    })
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def read_chain(path: Path) -> list[asn1_x509.Certificate]:
    """The certificates of a PEM file, the signer's first."""
    chain = [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(path.read_bytes(), multiple=True)]
    if not chain:
        raise ValueError(f"{path} holds no certificate")
    return chain


class SigningTool:
    """The loopback HTTP server; ``serve_in_thread`` for tests, ``serve_forever`` for people."""

    def __init__(self, signer: TokenSigner, chain: Sequence[asn1_x509.Certificate], *, allowed_origins: Sequence[str],
                 port: int = 0) -> None:
        tool = self
        self.signer = signer
        self.chain = list(chain)
        self.allowed = frozenset(o.rstrip("/") for o in allowed_origins)
        self.signed = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _cors(self) -> None:
                origin = self.headers.get("Origin")
                if origin and origin in tool.allowed:
                    self.send_header("Access-Control-Allow-Origin", origin)
                    self.send_header("Vary", "Origin")

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self._cors()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(204 if self.headers.get("Origin") in tool.allowed else 403)
                self._cors()
                self.send_header("Access-Control-Allow-Methods", "POST")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")
                if self.headers.get("Access-Control-Request-Private-Network") == "true":
                    self.send_header("Access-Control-Allow-Private-Network", "true")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                self._json(200, {"name": "vn-idp reference signing tool", "version": 1})

            def do_POST(self) -> None:  # noqa: N802
                if self.path != "/sign" or self.headers.get("Origin") not in tool.allowed:
                    self._json(403, {"error": "forbidden"})
                    return
                length = self.headers.get("Content-Length") or ""
                if not length.isdigit() or int(length) > MAX_DATA_BYTES * 2:
                    self._json(413, {"error": "too_large"})
                    return
                try:
                    data = base64.b64decode(json.loads(self.rfile.read(int(length)))["data"], validate=True)
                except (ValueError, KeyError, TypeError, binascii.Error):
                    self._json(400, {"error": "invalid_request"})
                    return
                signature = cms_detached(data, tool.signer, tool.chain)
                tool.signed += 1
                self._json(200, {"signature": base64.b64encode(signature).decode("ascii")})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m idp.pki.signing_tool", description=__doc__.split("\n")[0])
    parser.add_argument("--module", type=Path, required=True, help="PKCS#11 module (.so)")
    parser.add_argument("--token-label", required=True)
    parser.add_argument("--key-label", required=True)
    parser.add_argument("--certificates", type=Path, required=True, help="PEM: the signer's certificate, then its CAs")
    parser.add_argument("--pin-file", type=Path, help="file holding the token's PIN (default: standard input)")
    parser.add_argument("--allow-origin", action="append", required=True, help="origin of the sign-in service")
    parser.add_argument("--port", type=int, default=41250)
    args = parser.parse_args(argv)
    pin = (args.pin_file.read_text(encoding="utf-8") if args.pin_file else sys.stdin.readline()).strip()
    tool = SigningTool(TokenSigner(args.module, args.token_label, pin, args.key_label), read_chain(args.certificates),
                       allowed_origins=args.allow_origin, port=args.port)
    print(f"signing tool on {tool.url}", file=sys.stderr)
    try:
        tool.httpd.serve_forever()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
