"""Properties of the parsers of untrusted input, for any input hypothesis makes (bounded example
counts): a JWT (ID token hints, request objects, client assertions, access tokens all go through
keys.verify.verify_compact) is either verified or refused with InvalidToken, never accepted when any
byte changed and never another exception; a DPoP proof is refused with DpopError only; an HTTP Basic
header gives a client id or None; an LDAP filter value never escapes its assertion."""

from __future__ import annotations

import base64
import json
import re
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.ldap.adapter import _filter_value
from idp.endpoints.common import basic_client_id
from idp.specs.rfc9449_dpop import DpopError, DpopVerifier
from idp.storage.ephemeral import MemoryStore
from keys import software
from keys.errors import InvalidToken
from keys.jwk import public_key_from_jwk
from keys.jwt import encode_jwt
from keys.verify import verify_compact

SIGNER = software.generate("ES256")
KEYS = {SIGNER.kid: ("ES256", public_key_from_jwk(SIGNER.public_jwk()))}
VALID = encode_jwt(SIGNER, {"iss": "https://idp.example", "sub": "x", "exp": int(time.time()) + 600})
BOUNDED = settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=3), max_leaves=8)
#: Headers an attacker would try: alg none, HMAC with a public key, embedded or fetched keys, unknown kid.
hostile_headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["none", "None", "HS256", "ES256", "RS256", "EdDSA", "", "ES256K"])},
    optional={"kid": st.sampled_from([SIGNER.kid, "unknown", ""]) | st.text(max_size=10),
              "jwk": st.just(SIGNER.public_jwk()), "jku": st.just("https://attacker.example/jwks"),
              "x5u": st.just("https://attacker.example/cert"), "typ": st.sampled_from(["JWT", "at+jwt", "dpop+jwt"]),
              "crit": st.lists(st.text(max_size=5), max_size=2)})


@BOUNDED
@given(token=st.one_of(st.text(max_size=300), st.binary(max_size=300),
                       st.builds(lambda h, p, s: f"{h}.{p}.{s}", st.text(max_size=40), st.text(max_size=40),
                                 st.text(max_size=40))))
def test_any_text_is_refused_with_invalid_token(token: str | bytes) -> None:
    try:
        verify_compact(token, KEYS)
    except InvalidToken:
        return
    raise AssertionError("accepted a token nobody signed")


@BOUNDED
@given(header=hostile_headers, claims=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
       signature=st.binary(max_size=80))
def test_hostile_headers_are_refused(header: dict, claims: dict, signature: bytes) -> None:
    token = ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)])
    try:
        verify_compact(token, KEYS)
    except InvalidToken:
        return
    raise AssertionError(f"accepted {header}")


@BOUNDED
@given(position=st.integers(min_value=0, max_value=len(VALID) - 1), replacement=st.characters(codec="ascii"))
def test_a_changed_character_is_never_accepted(position: int, replacement: str) -> None:
    changed = VALID[:position] + replacement + VALID[position + 1:]
    if changed == VALID:
        return
    try:
        _, claims = verify_compact(changed, KEYS)
    except InvalidToken:
        return
    # Base64url has spare bits in the last character: only an identical decoding may pass.
    assert claims == verify_compact(VALID, KEYS)[1]


def test_oversized_token_is_refused() -> None:
    try:
        verify_compact("a" * 20000 + "." + "b" * 10 + ".c", KEYS)
    except InvalidToken as refused:
        assert refused.reason == "oversized"  # type: ignore[attr-defined]
    else:
        raise AssertionError("accepted an oversized token")


VERIFIER = DpopVerifier(MemoryStore(), b"n" * 32, max_age=60, nonce_required=False)


@BOUNDED
@given(proof=st.one_of(st.text(max_size=300),
                       st.builds(lambda h, c, s: ".".join([b64(json.dumps(h).encode()), b64(json.dumps(c).encode()),
                                                           b64(s)]),
                                 hostile_headers, st.dictionaries(st.text(max_size=6), json_values, max_size=4),
                                 st.binary(max_size=80))),
       count=st.integers(min_value=0, max_value=2))
def test_dpop_proofs_are_refused_with_dpop_error(proof: str, count: int) -> None:
    try:
        VERIFIER.verify([proof] * count, method="POST", url="https://idp.example/token")
    except DpopError:
        return
    raise AssertionError("accepted a DPoP proof nobody signed")


@BOUNDED
@given(value=st.one_of(st.text(max_size=80), st.builds(lambda b: "Basic " + base64.b64encode(b).decode(),
                                                     st.binary(max_size=60))))
def test_basic_header_gives_a_client_id_or_none(value: str) -> None:
    client_id = basic_client_id(value)
    assert client_id is None or isinstance(client_id, str)


ESCAPED = re.compile(r"(?:[^()*\\\x00]|\\[0-9a-f]{2})*")


@BOUNDED
@given(value=st.text(max_size=60), attribute=st.sampled_from(["uid", "objectGUID", "entryUUID", "sAMAccountName"]))
def test_ldap_filter_values_cannot_escape_their_assertion(value: str, attribute: str) -> None:
    escaped = _filter_value(attribute, value)
    assert ESCAPED.fullmatch(escaped), escaped
