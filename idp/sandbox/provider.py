"""One simulated upstream OpenID Provider: registered clients, codes, access tokens, the
signing key, and the claims of each national shape (shapes.py). Protocol checks are those of a
strict provider: exact redirect URI, S256 PKCE only, single-use codes bound to client and
redirect URI, client_secret_basic or client_secret_post."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from idp.sandbox.citizens import CITIZENS, ORGANISATIONS, Citizen, Organisation
from idp.sandbox.modes import MODES
from idp.sandbox.shapes import Shape
from idp.settings import is_loopback_host

CODE_TTL = 60
ACCESS_TOKEN_TTL = 300


@dataclass(frozen=True)
class SandboxClient:
    """A relying party of the sandbox. Empty ``redirect_uris``: any loopback URI (demo use)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()

    def allows_redirect(self, uri: str) -> bool:
        from urllib.parse import urlsplit

        if self.redirect_uris:
            return uri in self.redirect_uris
        parts = urlsplit(uri)
        return parts.scheme in ("http", "https") and is_loopback_host(parts.hostname or "") and not parts.fragment


@dataclass
class SandboxProvider:
    """State of one simulator. ``mode`` and ``slow_seconds`` may be changed while it serves."""

    shape: Shape
    base_url: str
    clients: dict[str, SandboxClient]
    citizens: tuple[Citizen, ...] = CITIZENS
    organisations: tuple[Organisation, ...] = ORGANISATIONS
    mode: str = "normal"
    slow_seconds: float = 5.0
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}))
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    published_keys: list[RSAKey] = field(default_factory=list)
    #: Upstream sessions (``sid``) signed in and not yet logged out.
    sessions: set[str] = field(default_factory=set)
    #: Every logout request received: method, client_id, the session it ended (or None), and the
    #: names of the parameters that came in the URL (an ID token there would have leaked).
    logouts: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key.ensure_kid()
        self.published_keys = [self.key]

    @property
    def issuer(self) -> str:
        return self.shape.issuer(self.base_url)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown sandbox mode {mode!r}")
        self.mode = mode

    def rotate_key(self) -> RSAKey:
        """Sign with a new key from now on (the old one stays published)."""
        self.key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"})
        self.key.ensure_kid()
        self.published_keys.append(self.key)
        return self.key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.as_dict(private=False) for k in self.published_keys]}

    def citizen(self, personal_id: str) -> Citizen | None:
        return next((c for c in self.citizens if c.personal_id == personal_id), None)

    def account(self, value: str) -> tuple[Citizen, Organisation | None] | None:
        """Who signs in when the login page's ``value`` is chosen: a citizen (their personal ID
        number), or an organisation's account (``MST:<tax code>``, where the shape has them) through
        its legal representative."""
        if value.startswith("MST:"):
            found = next((o for o in self.organisations if o.account == value), None)
            representative = self.citizen(found.representative) if found is not None else None
            if found is None or representative is None or not self.shape.organisation_accounts:
                return None
            return representative, found
        citizen = self.citizen(value)
        return (citizen, None) if citizen is not None else None

    def issue_code(self, request: dict[str, str], citizen: Citizen, organisation: Organisation | None = None) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = {
                **request,
                "organisation": organisation.tax_code if organisation is not None else None,
                "personal_id": citizen.personal_id,
                "auth_time": int(time.time()),
                "expires": time.time() + CODE_TTL,
                "sid": secrets.token_hex(16),
            }
            self.sessions.add(self._codes[code]["sid"])
        return code

    def redeem_code(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._codes.pop(code, None)
        if record is None or record["expires"] < time.time():
            return None
        return record

    def issue_access_token(self, record: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._access_tokens[token] = {**record, "expires": time.time() + ACCESS_TOKEN_TTL}
        return token

    def access_token_record(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._access_tokens.get(token)
        if record is None or record["expires"] < time.time():
            return None
        return record

    def end_session(self, method: str, params: dict[str, str], url_names: list[str]) -> str | None:
        """RP-initiated logout: the session named by a valid ``id_token_hint`` of ours for the
        calling client (signature, issuer, audience; an expired one still names it), else by
        ``logout_hint`` (a live ``sid``), ends. Returns its sid, or None when none was named."""
        client_id, sid = params.get("client_id"), None
        hint = params.get("id_token_hint")
        if hint:
            try:
                claims = jwt.decode(hint, KeySet(list(self.published_keys)), algorithms=["RS256"]).claims
            except (JoseError, ValueError):
                claims = {}
            aud = claims.get("aud")
            audiences = aud if isinstance(aud, list) else [aud]
            if claims.get("iss") == self.issuer and client_id in (None, *audiences) and claims.get("sid"):
                sid = str(claims["sid"])
        elif params.get("logout_hint") in self.sessions:
            sid = params["logout_hint"]
        with self._lock:
            if sid is not None and sid not in self.sessions:
                sid = None
            self.sessions.discard(sid or "")
            self.logouts.append({"method": method, "client_id": client_id, "ended": sid, "url_params": url_names})
        return sid

    def id_token_claims(self, record: dict[str, Any], citizen: Citizen) -> dict[str, Any]:
        """Claims of the ID token for a redeemed code, bent by the mode."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": record["client_id"],
            "azp": record["client_id"],
            "iat": now,
            "exp": now + 300,
            "auth_time": record["auth_time"],
            "sid": record["sid"],
            **self.shape.id_token_claims(citizen, record),
        }
        if record.get("nonce"):
            claims["nonce"] = record["nonce"]
        if self.mode == "wrong_aud":
            claims["aud"] = claims["azp"] = "another-relying-party"
        elif self.mode == "wrong_issuer":
            claims["iss"] = self.issuer + "-evil"
        elif self.mode == "expired":
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        elif self.mode == "wrong_nonce":
            claims["nonce"] = secrets.token_urlsafe(16)
        if self.mode == "missing_personal_id":
            for name in self.shape.personal_id_claims:
                claims.pop(name, None)
        return claims

    def userinfo(self, record: dict[str, Any], citizen: Citizen) -> dict[str, Any]:
        info = self.shape.userinfo(citizen, record)
        if self.mode == "missing_personal_id":
            for name in self.shape.personal_id_claims:
                info.pop(name, None)
        if self.mode == "userinfo_other_sub":
            info["sub"] = "someone-else"
        return info
