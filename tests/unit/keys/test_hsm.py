"""PKCS#11 keys in SoftHSM2: made in the token, never exported, clear start-up errors."""

from __future__ import annotations

import pkcs11
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, padding

from keys import KeyConfigError, encode_jwt, open_key_ring
from keys.hsm import HsmSigner, Pkcs11KeyBackend
from keys.signer import Signer
from tests.unit.keys.softhsm import SoftHsm


def test_hsm_keys_are_generated_in_the_token_and_sign(sqlite_storage, softhsm: SoftHsm, tmp_path,
                                                      audit) -> None:
    ring = open_key_ring(softhsm.settings(tmp_path / "var", signing_algorithms=["ES256"]), sqlite_storage, audit)
    signer = ring.signer()
    assert isinstance(signer, HsmSigner) and isinstance(signer, Signer)
    records = sqlite_storage.keys.list()
    assert {r.backend for r in records} == {"pkcs11"} and all(r.private_key_enc is None for r in records)
    assert all(r.hsm_label and r.hsm_label.startswith("vn-idp-es256-") for r in records)
    assert not (tmp_path / "var" / "kek").exists()  # no KEK needed when nothing is sealed
    token = encode_jwt(signer, {"sub": "x", "exp": 2_000_000_000})
    assert ring.verify_jwt(token)[1]["sub"] == "x"


def test_the_private_key_cannot_be_exported(sqlite_storage, softhsm: SoftHsm, tmp_path, audit) -> None:
    ring = open_key_ring(softhsm.settings(tmp_path / "var", signing_algorithms=["ES256", "RS256"]),
                         sqlite_storage, audit)
    backend = Pkcs11KeyBackend(softhsm.module, softhsm.token_label, softhsm.pin)
    for alg in ("ES256", "RS256"):
        record = sqlite_storage.keys.get(ring.signer(alg).kid)
        assert record is not None
        private = backend.session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=record.hsm_label)
        assert private[pkcs11.Attribute.SENSITIVE] is True
        assert private[pkcs11.Attribute.EXTRACTABLE] is False
        secret_parts = (pkcs11.Attribute.VALUE,) if alg == "ES256" else (
            pkcs11.Attribute.PRIVATE_EXPONENT, pkcs11.Attribute.PRIME_1)
        for attribute in secret_parts:
            with pytest.raises(pkcs11.AttributeSensitive):
                private[attribute]
        wrapping = backend.session.generate_key(pkcs11.KeyType.AES, 256, template={pkcs11.Attribute.WRAP: True})
        with pytest.raises(pkcs11.PKCS11Error):
            wrapping.wrap_key(private, mechanism=pkcs11.Mechanism.AES_KEY_WRAP_PAD)


def test_hsm_signatures_verify_with_the_published_public_key(sqlite_storage, softhsm: SoftHsm, tmp_path,
                                                             audit) -> None:
    ring = open_key_ring(softhsm.settings(tmp_path / "var", signing_algorithms=["ES256", "PS256"]),
                         sqlite_storage, audit)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from keys.jwk import public_key_from_jwk

    es = ring.signer("ES256")
    sig = es.sign(b"abc")
    public = public_key_from_jwk(es.public_jwk())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")),
                  b"abc", ec.ECDSA(hashes.SHA256()))
    ps = ring.signer("PS256")
    public_key_from_jwk(ps.public_jwk()).verify(  # type: ignore[call-arg]
        ps.sign(b"abc"), b"abc", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pkcs11_pin": "000000"}, "wrong PKCS#11 user PIN"),
        ({"pkcs11_token_label": "no-such-token"}, "no PKCS#11 token labelled 'no-such-token'"),
        ({"pkcs11_module": "/nonexistent/libpkcs11.so"}, "PKCS#11 module /nonexistent/libpkcs11.so not found"),
        ({"pkcs11_pin": None}, "needs IDP_PKCS11_PIN"),
    ],
)
def test_start_up_errors_are_one_clear_line(overrides, message, sqlite_storage, softhsm: SoftHsm, tmp_path,
                                            audit) -> None:
    settings = softhsm.settings(tmp_path / "var", **{"pkcs11_token_label": softhsm.pin_test_token, **overrides})
    with pytest.raises(KeyConfigError, match=message) as caught:
        open_key_ring(settings, sqlite_storage, audit)
    assert "\n" not in str(caught.value) and "000000" not in str(caught.value)
    assert sqlite_storage.keys.list() == []


def test_key_missing_from_the_token_stops_start_up(sqlite_storage, softhsm: SoftHsm, tmp_path, audit) -> None:
    settings = softhsm.settings(tmp_path / "var", signing_algorithms=["ES256"])
    ring = open_key_ring(settings, sqlite_storage, audit)
    kid = ring.signer().kid
    sqlite_storage.keys.update(kid, lambda r: r.replace(hsm_label="vn-idp-gone"))
    with pytest.raises(KeyConfigError, match="missing"):
        open_key_ring(settings, sqlite_storage, audit)
