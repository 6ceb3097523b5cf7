"""A certificate's private key on the SoftHSM2 token (the person's USB token in the tests), and the
reference signing tool serving it on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from asn1crypto import x509 as asn1_x509
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from idp.pki.signing_tool import SigningTool, TokenSigner
from keys.hsm import open_token_session
from tests.unit.keys.softhsm import SoftHsm
from tests.unit.pki.support import Issued


def put_on_token(hsm: SoftHsm, issued: Issued, label: str) -> None:
    """Import ``issued``'s P-256 private key into the token (sensitive, not extractable), once."""
    session, lock = open_token_session(hsm.module, hsm.token_label, hsm.pin)
    with lock:
        if list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: label})):
            return
        value = issued.key.private_numbers().private_value.to_bytes(32, "big")
        session.create_object({
            Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.EC, Attribute.TOKEN: True,
            Attribute.PRIVATE: True, Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True,
            Attribute.LABEL: label, Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1"),
            Attribute.VALUE: value,
        })


@contextmanager
def signing_tool(hsm: SoftHsm, issued: Issued, label: str, *, origins: list[str]) -> Iterator[SigningTool]:
    """The reference signing tool on a loopback port, signing with ``issued``'s key on the token."""
    put_on_token(hsm, issued, label)
    chain = [asn1_x509.Certificate.load(c.der) for c in issued.chain()]
    tool = SigningTool(TokenSigner(hsm.module, hsm.token_label, hsm.pin, label), chain, allowed_origins=origins)
    tool.serve_in_thread()
    try:
        yield tool
    finally:
        tool.close()
