"""The national portal's claim names, for services that move from its SSO to this provider.

Services connected to the National Public Service Portal's SSO (docs/domain.md, "The National
Public Service Portal's SSO") read the person from its userinfo fields: ``SoDinhDanh``,
``HoVaTen``, ``NgayThangNamSinh`` (``YYYYMMDD``), ``LoaiTaiKhoan`` and ``loginIdp``. A client
registered with the claim-names profile ``dvcqg`` (client metadata ``claim_names: "dvcqg"``,
``idp clients add --claim-names dvcqg``) receives those names too, next to the standard ones, so it
moves here without a code change.

The portal names are derived only from claims already released to the client (scope, the client's
policy, the person's consent: :mod:`policies.release`), so they follow the same rules: no
``SoDinhDanh`` without ``vn_personal_id``, which needs the restricted scope ``vn_id``; no
``LoaiTaiKhoan`` or ``loginIdp`` without ``vn_eid``; ``HoVaTen`` and ``NgayThangNamSinh`` with
``profile``. They appear wherever their source claim appears: in userinfo and, when the ``claims``
parameter asked for the source claim there, in the ID token.

The values are written back the way the portal writes them: the ISO birth date as ``YYYYMMDD``;
``vn_account_type`` and ``vn_login_idp`` through the reverse of the ``dvcqg`` adapter's default maps
(``citizen`` -> ``1``, ``organization`` -> ``2``; ``vneid`` -> ``BCA``), any other value unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adapters.dvcqg.config import DvcqgConfig

PROFILE = "dvcqg"
#: The claim-name profiles a client may have (``standard``: only the standard names).
PROFILES = ("standard", PROFILE)
METADATA = "claim_names"


def _reverse_default(field: str) -> dict[str, str]:
    factory = DvcqgConfig.model_fields[field].default_factory
    assert factory is not None
    return {ours: theirs for theirs, ours in factory().items()}  # type: ignore[call-arg]


_ACCOUNT_TYPES = _reverse_default("account_types")
_LOGIN_IDPS = _reverse_default("login_idps")


def _compact_date(value: Any) -> str | None:
    text = str(value)
    return text.replace("-", "") if len(text) == 10 and text[4] == "-" and text[7] == "-" else None


#: Our claim -> (the portal's name, how the value is written).
PORTAL_NAMES: Mapping[str, tuple[str, Callable[[Any], Any]]] = {
    "vn_personal_id": ("SoDinhDanh", str),
    "name": ("HoVaTen", str),
    "birthdate": ("NgayThangNamSinh", _compact_date),
    "vn_account_type": ("LoaiTaiKhoan", lambda value: _ACCOUNT_TYPES.get(str(value), str(value))),
    "vn_login_idp": ("loginIdp", lambda value: _LOGIN_IDPS.get(str(value), str(value))),
}


def claim_names_profile(extra: Mapping[str, Any]) -> str:
    """The client's claim-name profile (``standard`` unless its metadata says ``dvcqg``)."""
    return PROFILE if extra.get(METADATA) == PROFILE else "standard"


def with_portal_names(released: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``released`` plus the portal's names of the claims in it, for a ``dvcqg`` client; ``released``
    unchanged (a copy) for any other."""
    claims = dict(released)
    if claim_names_profile(extra) != PROFILE:
        return claims
    for ours, (theirs, write) in PORTAL_NAMES.items():
        if ours in released and released[ours] not in (None, ""):
            value = write(released[ours])
            if value is not None:
                claims[theirs] = value
    return claims
