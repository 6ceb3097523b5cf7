"""The level-of-assurance (acr) vocabulary: ordered levels, their URIs, aliases, upstream mapping.

Levels, lowest to highest (docs/domain.md, "Levels of assurance (acr)")::

    local-basic < local-mfa < vneid-l1 < vneid-l2 < cccd-chip < pki-remote < pki-hw

On the wire a level is an absolute URI under the issuer: ``{issuer}/acr/{token}``, for example
``https://id.example.gov.vn/acr/vneid-l2``. That URI is what ``acr_values_supported`` lists and
what the ID token's ``acr`` claim carries. In ``acr_values`` (and ``claims.id_token.acr.values``)
a relying party may also write the national portal's aliases ``LoA1`` (= vneid-l1) and ``LoA2``
(= vneid-l2); the token still answers with the URI. Policy documents and adapter configuration
use the short token (``vneid-l2``).

OIDC Core §2 / §3.1.2.1: ``acr_values`` is a space-separated list; here a request for level X is
satisfied by X or any higher level. eIDAS / NIST equivalents belong in documentation only.

Upstream acr values are mapped per adapter by configuration (:func:`map_upstream_acr`). Without a
matching entry an upstream login counts at the adapter's configured default, and without one at
the lowest level: Keycloak's default ``acr`` "1" means "a normal login", not VNeID level 1, so it
counts as level 1 only where an operator says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer


class Level(IntEnum):
    """One level of assurance; the integer order is the assurance order."""

    LOCAL_BASIC = 1
    LOCAL_MFA = 2
    VNEID_L1 = 3
    VNEID_L2 = 4
    CCCD_CHIP = 5
    PKI_REMOTE = 6
    PKI_HW = 7

    @property
    def token(self) -> str:
        """The short name used in policies and configuration: ``vneid-l2``."""
        return self.name.lower().replace("_", "-")

    def uri(self, issuer: str) -> str:
        """The absolute acr URI under ``issuer``: what tokens and discovery carry."""
        return f"{issuer.rstrip('/')}/acr/{self.token}"

    @property
    def label_vi(self) -> str:
        """A plain Vietnamese description (for ``idp policies explain`` and pages)."""
        return _LABELS_VI[self]

    @property
    def implies_multi_factor(self) -> bool:
        """Whether signing in at this level needs two factors by definition (AAL2 or better):
        a local second factor, the VNeID app (enrolled device + passcode), a remote-signing app
        confirmation, a hardware token with its PIN. A chip read is proofing, not a sign-in."""
        return self not in (Level.LOCAL_BASIC, Level.CCCD_CHIP)


_LABELS_VI = {
    Level.LOCAL_BASIC: "Tài khoản nội bộ, đăng nhập bằng mật khẩu",
    Level.LOCAL_MFA: "Tài khoản nội bộ, xác thực hai yếu tố",
    Level.VNEID_L1: "Tài khoản định danh điện tử VNeID mức độ 1",
    Level.VNEID_L2: "Tài khoản định danh điện tử VNeID mức độ 2",
    Level.CCCD_CHIP: "Đối chiếu chip trên thẻ căn cước",
    Level.PKI_REMOTE: "Chữ ký số từ xa",
    Level.PKI_HW: "Chữ ký số trên thiết bị (USB token, thẻ thông minh)",
}

ALIASES: Mapping[str, Level] = {"LoA1": Level.VNEID_L1, "LoA2": Level.VNEID_L2}
"""Aliases accepted in ``acr_values`` (the national public-service portal's style)."""

LOWEST = Level.LOCAL_BASIC
TOKENS = tuple(level.token for level in Level)


def level_from_token(token: str) -> Level:
    """The level named by its short token (``vneid-l2``); ValueError naming the choices."""
    for level in Level:
        if level.token == token:
            return level
    raise ValueError(f"unknown acr {token!r}: expected one of {', '.join(TOKENS)}")


def parse_acr(value: str, issuer: str) -> Level | None:
    """The level a requested acr value names: our URI under ``issuer`` or an alias; None when
    the value is not ours (another issuer's URI, a misspelling, a bare token)."""
    if value in ALIASES:
        return ALIASES[value]
    prefix = f"{issuer.rstrip('/')}/acr/"
    if value.startswith(prefix):
        try:
            return level_from_token(value[len(prefix):])
        except ValueError:
            return None
    return None


def parse_acr_values(values: Iterable[str], issuer: str) -> tuple[Level, ...]:
    """The recognised levels among requested values, unrecognised ones left out."""
    return tuple(level for level in (parse_acr(v, issuer) for v in values) if level is not None)


def satisfies(achieved: Level | None, requested: Level | None) -> bool:
    """Whether a sign-in at ``achieved`` meets a request for ``requested`` (that level or higher)."""
    if requested is None:
        return True
    return achieved is not None and achieved >= requested


def acr_values_supported(issuer: str) -> list[str]:
    """Discovery's ``acr_values_supported``: every level's URI, lowest first (aliases are accepted
    in requests but never issued, so they are not listed)."""
    return [level.uri(issuer) for level in Level]


def to_level(value: Level | str) -> Level:
    """A level from a Level or its short token."""
    return value if isinstance(value, Level) else level_from_token(value)


def validate_acr_mapping(mapping: Mapping[str, Any]) -> dict[str, Level]:
    """Check an adapter's configured ``upstream acr -> local token`` mapping; ValueError naming the
    bad entry. Adapters call this from their config model's validator."""
    checked: dict[str, Level] = {}
    for upstream, local in mapping.items():
        if not isinstance(upstream, str) or not upstream:
            raise ValueError(f"acr mapping key {upstream!r} must be a non-empty string")
        try:
            checked[upstream] = to_level(local)
        except (ValueError, TypeError):
            raise ValueError(
                f"acr mapping {upstream!r}: unknown acr {local!r} (expected one of {', '.join(TOKENS)})"
            ) from None
    return checked


def map_upstream_acr(
    adapter_config_mapping: Mapping[str, Level | str],
    upstream_acr: str | None,
    *,
    default: Level | str = LOWEST,
) -> Level:
    """The local level of an upstream sign-in.

    ``adapter_config_mapping`` maps upstream acr strings (exact match) to local tokens or levels;
    ``default`` is the level the operator justified for any login at that adapter (the lowest level
    when not configured). An upstream acr that is absent or not in the mapping gets ``default``,
    never a guess from its spelling: Keycloak's "1" is not ``vneid-l1`` unless mapped so. A mapped
    level below ``default`` stays below it (the upstream said less).
    """
    if upstream_acr is not None and upstream_acr in adapter_config_mapping:
        return to_level(adapter_config_mapping[upstream_acr])
    return to_level(default)


def highest_mapped_level(adapter_config_mapping: Mapping[str, Level | str], *, default: Level | str = LOWEST) -> Level:
    """The highest level an adapter with this mapping can produce: what the engine's
    ``AuthorizationContext.adapter_max_acr`` needs for that adapter."""
    return max([to_level(default), *(to_level(v) for v in adapter_config_mapping.values())])


def _validate_level(value: Any) -> Level:
    if isinstance(value, Level):
        return value
    if not isinstance(value, str):
        raise ValueError(f"an acr is a string, one of {', '.join(TOKENS)}")
    return level_from_token(value)


LevelField = Annotated[
    Level,
    BeforeValidator(_validate_level),
    PlainSerializer(lambda level: level.token, return_type=str),
]
"""A pydantic field type for a level written as its token in YAML/JSON configuration."""
