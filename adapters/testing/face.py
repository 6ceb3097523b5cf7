"""The deterministic testing face matcher (type ``testing-face``, loopback issuers only).

It does no biometrics: a live capture matches when it is byte for byte the face image inside DG2
(the ``5F2E`` biometric data block), with score 1.0; anything else scores 0.0. Tests use it to drive
the eKYC flow; a deployment configures a vendor's matcher behind the same FaceMatcher protocol.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from adapters.base import Adapter, FaceMatch
from adapters.config import AdapterConfig, AdapterContext, display_name_for
from idp.ekyc import tlv
from idp.ekyc.errors import ChipRefused
from idp.settings import is_loopback_host

FACE_MATCHER = "face_matcher"


def face_image(dg2: bytes) -> bytes | None:
    """The image of DG2's first biometric data block (``75 { 7F61 { .. 7F60 { .. 5F2E image } } }``)."""
    try:
        template = tlv.read_single(dg2, 0x75, "dg2_malformed")
        for item in tlv.read_all(template, "dg2_malformed"):
            if item.tag == 0x7F61:
                for info in tlv.read_all(item.value, "dg2_malformed"):
                    if info.tag == 0x7F60:
                        for block in tlv.read_all(info.value, "dg2_malformed"):
                            if block.tag == 0x5F2E:
                                return block.value
    except ChipRefused:
        return None
    return None


class TestingFaceMatcher:
    __test__ = False

    def __init__(self, config: TestingFaceConfig) -> None:
        self.id = config.id
        self.config = config

    def display_name(self, locale: str) -> str:
        return display_name_for(self.config.display_name, locale, "Testing face matcher")

    def compare(self, document_face: bytes, live_face: bytes) -> FaceMatch:
        image = face_image(document_face)
        same = image is not None and hmac.compare_digest(hashlib.sha256(image).digest(),
                                                         hashlib.sha256(live_face).digest())
        return FaceMatch(matched=same, score=1.0 if same else 0.0, method="testing-identical-image")


class TestingFaceConfig(AdapterConfig):
    __test__ = False
    capabilities: ClassVar[frozenset[str]] = frozenset({FACE_MATCHER})
    config_version: ClassVar[int] = 1

    type: Literal["testing-face"]

    def open(self, context: AdapterContext) -> Adapter:
        if not is_loopback_host(urlsplit(context.settings.issuer).hostname or ""):
            raise ValueError("the testing face matcher is only allowed with a loopback issuer")
        return TestingFaceMatcher(self)
