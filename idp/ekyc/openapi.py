"""The OpenAPI 3.1 description of the reader API (served at ``/api/ekyc/v1/openapi.json``).

Written by hand next to what it describes (idp/endpoints/ekyc.py, idp/ekyc/upload.py): a test
checks that every path and upload field it names is served and accepted.
"""

from __future__ import annotations

from typing import Any

from idp.ekyc.upload import FIELDS

_B64 = {"type": "string", "contentEncoding": "base64"}
_DESCRIPTIONS = {
    "sod": "EF.SOD as read (tag 77), required",
    "com": "EF.COM (tag 60); when sent it must list every data group sent",
    "dg1": "DG1, the MRZ (tag 61), required",
    "dg2": "DG2, the face (tag 75); required when a face matcher is configured",
    "dg13": "DG13, the Vietnamese personal data (tag 6D), required",
    "dg14": "DG14, security infos (tag 6E), when the card has it",
    "dg15": "DG15, the active-authentication public key (tag 6F), when the card has it",
    "aa_signature": "the chip's INTERNAL AUTHENTICATE answer to the ticket's nonce (required with DG15)",
    "selfie": "a live capture of the holder's face (JPEG), when a face matcher is configured; compared, never kept",
}


def openapi_document(server_url: str) -> dict[str, Any]:
    """The document, with ``server_url`` (the issuer) as its server."""
    error = {"type": "object", "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}}}
    bearer: list[dict[str, list[str]]] = [{"uploadToken": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "vn-idp chip ID card reader API",
            "version": "1",
            "description": "A reader (a phone app over NFC, a counter reader) sends the chip ID card it read "
                           "for one interaction. The person's chip page shows an upload token (also as a QR "
                           "code); the reader fetches the nonce with it, has the chip sign the nonce (active "
                           "authentication), and posts the card once. The token works for one upload.",
        },
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {"uploadToken": {"type": "http", "scheme": "bearer",
                                                "description": "the upload token of the chip page"}},
            "schemas": {
                "Upload": {"type": "object", "additionalProperties": False, "required": ["sod", "dg1", "dg13"],
                           "properties": {name: {**_B64, "maxLength": (limit * 4) // 3 + 4,
                                                 "description": _DESCRIPTIONS[name]}
                                          for name, limit in FIELDS.items()}},
                "Result": {"type": "object", "required": ["result"], "properties": {
                    "result": {"enum": ["verified", "refused"]},
                    "active_authentication": {"type": ["string", "null"], "enum": ["rsa-iso9796-2", "ecdsa", None]},
                    "reason": {"type": "string", "description": "a stable refusal code (sod_malformed, "
                               "dg_hash_mismatch, signer_untrusted, signer_expired, signer_revoked, "
                               "aa_signature_invalid, dg_inconsistent, face_mismatch, ...)"},
                    "detail": {"type": "string"}}},
                "Challenge": {"type": "object", "required": ["nonce", "expires_at", "requires"], "properties": {
                    "nonce": {**_B64, "description": "8 bytes for the chip's INTERNAL AUTHENTICATE"},
                    "expires_at": {"type": "integer", "description": "epoch seconds"},
                    "requires": {"type": "object", "properties": {"selfie": {"type": "boolean"},
                                                                  "active_authentication": {"type": "boolean"}}}}},
                "Error": error,
            },
        },
        "paths": {
            "/api/ekyc/v1/challenge": {"get": {
                "summary": "The nonce the chip must sign, and what the upload must hold",
                "security": bearer,
                "responses": {"200": {"description": "the ticket is live", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Challenge"}}}},
                              "401": {"description": "unknown, used or expired token", "content": {
                                  "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}},
            "/api/ekyc/v1/reads": {"post": {
                "summary": "Post the card read (uses the token up)",
                "security": bearer,
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Upload"}}}},
                "responses": {
                    "200": {"description": "the card is verified; the person continues in the browser",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Result"}}}},
                    "422": {"description": "the card is refused, with the reason",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Result"}}}},
                    "400": {"description": "not JSON", "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "401": {"description": "unknown, used or expired token", "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "413": {"description": "the body is too large"}}}},
            "/api/ekyc/v1/openapi.json": {"get": {"summary": "This description",
                                                  "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        },
    }
