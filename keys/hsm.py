"""HSM signing keys over PKCS#11 (python-pkcs11), e.g. a government HSM or SoftHSM2 in tests.

Keys are generated inside the token, found again by label, and marked ``CKA_SENSITIVE`` and
non-``CKA_EXTRACTABLE``: the private key never leaves the token; only the public key is read
out to build the JWK. Mechanisms: ES256 = SHA-256 here + ``CKM_ECDSA`` (raw R||S, as JWS wants);
RS256 = ``CKM_SHA256_RSA_PKCS``; PS256 = ``CKM_SHA256_RSA_PKCS_PSS`` (MGF1-SHA256, salt 32);
EdDSA = ``CKM_EDDSA`` over an Ed25519 key.

One logged-in session per (module, token) per process, shared by every signer and guarded by a
lock: PKCS#11 login state is per application, and closing a session would log the others out.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from pathlib import Path
from typing import Any

import pkcs11
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from pkcs11 import MGF, Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from idp.settings import Settings
from idp.storage.models import SigningKeyRecord
from keys.algorithms import RSA_BITS, PublicKey, require_supported
from keys.errors import KeyConfigError
from keys.jwk import public_jwk, public_members, thumbprint
from keys.signer import ES256, PS256, RS256

BACKEND = "pkcs11"
ED25519_OID = "1.3.101.112"
PRIVATE_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
}
PUBLIC_TEMPLATE = {Attribute.TOKEN: True, Attribute.VERIFY: True}

_sessions: dict[tuple[str, str], tuple[Any, threading.Lock]] = {}
_sessions_lock = threading.Lock()


def _config_error(vi: str, en: str) -> KeyConfigError:
    return KeyConfigError(f"{vi} / {en}")


def open_token_session(module: Path, token_label: str, pin: str) -> tuple[Any, threading.Lock]:
    """The process's logged-in session on the token; KeyConfigError for module, token or PIN."""
    key = (str(module), token_label)
    with _sessions_lock:
        if key in _sessions:
            return _sessions[key]
        if not module.is_file():
            raise _config_error(f"Không tìm thấy thư viện PKCS#11 {module}.",
                                f"PKCS#11 module {module} not found (IDP_PKCS11_MODULE).")
        try:
            lib = pkcs11.lib(str(module))
        except Exception as exc:  # the library raises its base error or OSError for a bad .so
            raise _config_error(f"Không nạp được thư viện PKCS#11 {module}.",
                                f"cannot load PKCS#11 module {module}: {type(exc).__name__}.") from None
        try:
            token = lib.get_token(token_label=token_label)
        except pkcs11.NoSuchToken:
            raise _config_error(f"Không có token PKCS#11 nhãn {token_label!r}.",
                                f"no PKCS#11 token labelled {token_label!r} (IDP_PKCS11_TOKEN_LABEL).") from None
        try:
            session = token.open(user_pin=pin, rw=True)
        except (pkcs11.PinIncorrect, pkcs11.PinLenRange, pkcs11.ArgumentsBad):
            raise _config_error("Mã PIN của token PKCS#11 sai.",
                                "wrong PKCS#11 user PIN (IDP_PKCS11_PIN).") from None
        except pkcs11.PinLocked:
            raise _config_error("Token PKCS#11 đã khóa PIN.", "the PKCS#11 token's PIN is locked.") from None
        except pkcs11.UserAlreadyLoggedIn:  # another session of this process logged in already
            session = token.open(rw=True)
        _sessions[key] = (session, threading.Lock())
        return _sessions[key]


def _public_key(public: Any, alg: str) -> PublicKey:
    if alg == ES256:
        key = load_der_public_key(encode_ec_public_key(public))
    elif alg in (RS256, PS256):
        n = int.from_bytes(public[Attribute.MODULUS], "big")
        e = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
        key = rsa.RSAPublicNumbers(e, n).public_key()
    else:
        point = bytes(public[Attribute.EC_POINT])
        if len(point) == 34 and point[:2] == b"\x04\x20":  # DER OCTET STRING around the 32 bytes
            point = point[2:]
        key = ed25519.Ed25519PublicKey.from_public_bytes(point)
    return key  # type: ignore[return-value]


class HsmSigner:
    """A :class:`keys.signer.Signer` whose private key stays inside the PKCS#11 token."""

    def __init__(self, private_key: Any, public_key: PublicKey, alg: str, kid: str, lock: threading.Lock) -> None:
        self._private_key = private_key
        self._lock = lock
        self.alg = alg
        self.kid = kid
        self._jwk = public_jwk(public_key, kid=kid, alg=alg)

    def public_jwk(self) -> dict[str, str]:
        return dict(self._jwk)

    def sign(self, signing_input: bytes) -> bytes:
        with self._lock:
            if self.alg == ES256:
                digest = hashlib.sha256(signing_input).digest()
                return bytes(self._private_key.sign(digest, mechanism=Mechanism.ECDSA))
            if self.alg == RS256:
                return bytes(self._private_key.sign(signing_input, mechanism=Mechanism.SHA256_RSA_PKCS))
            if self.alg == PS256:
                return bytes(self._private_key.sign(
                    signing_input, mechanism=Mechanism.SHA256_RSA_PKCS_PSS,
                    mechanism_param=(Mechanism.SHA256, MGF.SHA256, 32),
                ))
            return bytes(self._private_key.sign(signing_input, mechanism=Mechanism.EDDSA))

    def __repr__(self) -> str:
        return f"HsmSigner(kid={self.kid!r}, alg={self.alg!r})"


class Pkcs11KeyBackend:
    """Generates and finds signing keys in one PKCS#11 token."""

    name = BACKEND

    def __init__(self, module: Path, token_label: str, pin: str) -> None:
        self.session, self.lock = open_token_session(module, token_label, pin)

    @classmethod
    def from_settings(cls, settings: Settings) -> Pkcs11KeyBackend:
        missing = [name for name, value in (("IDP_PKCS11_MODULE", settings.pkcs11_module),
                                            ("IDP_PKCS11_TOKEN_LABEL", settings.pkcs11_token_label),
                                            ("IDP_PKCS11_PIN", settings.pkcs11_pin)) if not value]
        if missing:
            raise _config_error(f"Thiếu cấu hình HSM: {', '.join(missing)}.",
                                f"IDP_KEY_BACKEND=pkcs11 needs {', '.join(missing)}.")
        assert settings.pkcs11_module and settings.pkcs11_token_label and settings.pkcs11_pin
        return cls(settings.pkcs11_module, settings.pkcs11_token_label, settings.pkcs11_pin.get_secret_value())

    def _generate_pair(self, alg: str, label: str, key_id: bytes) -> tuple[Any, Any]:
        options: dict[str, Any] = {"store": True, "label": label, "id": key_id,
                                   "private_template": PRIVATE_TEMPLATE, "public_template": PUBLIC_TEMPLATE}
        if alg in (RS256, PS256):
            pair: tuple[Any, Any] = self.session.generate_keypair(KeyType.RSA, RSA_BITS, **options)
            return pair
        if alg == ES256:
            params = self.session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
            pair = params.generate_keypair(**options)
            return pair
        params = self.session.create_domain_parameters(
            KeyType.EC_EDWARDS, {Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)}, local=True)
        pair = params.generate_keypair(mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN, **options)
        return pair

    def generate(self, alg: str) -> tuple[HsmSigner, SigningKeyRecord]:
        """A new non-extractable key pair in the token, labelled ``vn-idp-<alg>-<random>``."""
        require_supported(alg)
        label = f"vn-idp-{alg.lower()}-{secrets.token_hex(8)}"
        with self.lock:
            public, private = self._generate_pair(alg, label, secrets.token_bytes(16))
            public_key = _public_key(public, alg)
        kid = thumbprint(public_members(public_key))
        signer = HsmSigner(private, public_key, alg, kid, self.lock)
        record = SigningKeyRecord(kid=kid, alg=alg, backend=BACKEND, state="next",
                                  public_jwk=signer.public_jwk(), hsm_label=label)
        return signer, record

    def _find(self, record: SigningKeyRecord) -> tuple[Any, PublicKey]:
        with self.lock:
            try:
                private = self.session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=record.hsm_label)
                public = self.session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=record.hsm_label)
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned):
                raise _config_error(f"Token HSM không có (đúng một) khóa {record.hsm_label!r} của {record.kid}.",
                                    f"HSM key {record.hsm_label!r} of {record.kid} is missing or ambiguous "
                                    "in the token.") from None
            public_key = _public_key(public, record.alg)
        if thumbprint(public_members(public_key)) != record.kid:
            raise _config_error(f"Khóa HSM {record.hsm_label!r} không khớp {record.kid}.",
                                f"HSM key {record.hsm_label!r} does not match {record.kid}.")
        return private, public_key

    def check(self, record: SigningKeyRecord) -> None:
        self._find(record)

    def load(self, record: SigningKeyRecord) -> HsmSigner:
        private, public_key = self._find(record)
        return HsmSigner(private, public_key, record.alg, record.kid, self.lock)
