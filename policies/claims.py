"""Which claims each scope reveals: the standard OIDC scopes and the restricted Vietnamese ones.

OIDC Core §5.4 (profile, email, address, phone) plus the restricted scopes of docs/domain.md
("Claims and scopes"). A restricted scope is released only when the client's policy approves it
*and* the person consented to it on this provider's consent page (trusted clients included).

Claim names of the restricted scopes (adapters and enrichers produce them under these names):

- ``vn_id``: ``vn_personal_id`` (the 12-digit personal identification number; never a ``sub``),
  ``verified_claims`` (OpenID Connect for Identity Assurance: what a chip ID card verification
  established, idp/ekyc/assurance.py; sent only when the ``claims`` parameter asks for it)
- ``vn_eid``: ``vn_eid_level`` (1 or 2), ``vn_login_idp`` (the national portal's ``loginIdp``),
  ``vn_account_type`` (its ``LoaiTaiKhoan``)
- ``vn_org``: ``vn_org_tax_code``, ``vn_org_eid`` (organisation e-ID), ``vn_org_name``, ``vn_acting_for``
  (the organisation the person acts for), ``vn_org_representative`` (the name of an organisation
  account's legal representative, when the upstream says it)
- ``vn_official``: ``vn_agency_code``, ``vn_unit``, ``vn_roles``
- ``vn_cert``: ``vn_cert_issuer``, ``vn_cert_serial``, ``vn_cert_uid`` (the certificate's UID,
  for example ``CCCD:...`` or ``MST:...``)
"""

from __future__ import annotations

from collections.abc import Mapping

SCOPE_CLAIMS: Mapping[str, frozenset[str]] = {
    "openid": frozenset(),
    "offline_access": frozenset(),
    "profile": frozenset({
        "name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
        "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
    }),
    "email": frozenset({"email", "email_verified"}),
    "address": frozenset({"address"}),
    "phone": frozenset({"phone_number", "phone_number_verified"}),
    "vn_id": frozenset({"vn_personal_id", "verified_claims"}),
    "vn_eid": frozenset({"vn_eid_level", "vn_login_idp", "vn_account_type"}),
    "vn_org": frozenset({"vn_org_tax_code", "vn_org_eid", "vn_org_name", "vn_acting_for", "vn_org_representative"}),
    "vn_official": frozenset({"vn_agency_code", "vn_unit", "vn_roles"}),
    "vn_cert": frozenset({"vn_cert_issuer", "vn_cert_serial", "vn_cert_uid"}),
}

STANDARD_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")
RESTRICTED_SCOPES = ("vn_id", "vn_eid", "vn_org", "vn_official", "vn_cert")

PROTOCOL_CLAIMS = frozenset({"sub", "acr", "amr", "auth_time"})
"""Claims a client may name in the ``claims`` parameter that describe the sign-in itself: always
released (``sub`` is pairwise or public per policy), never subject to scope approval."""

CLAIM_SCOPE: Mapping[str, str] = {claim: scope for scope, claims in SCOPE_CLAIMS.items() for claim in claims}
"""The scope that governs each user claim."""

KNOWN_CLAIMS = frozenset(CLAIM_SCOPE)

RESTRICTED_SCOPE_REVEALS_VI: Mapping[str, str] = {
    "vn_id": "Số định danh cá nhân (12 chữ số) của bạn, và khi dịch vụ yêu cầu, kết quả xác minh thẻ căn cước "
    "gắn chip (họ tên, ngày sinh, giới tính, quốc tịch, nơi thường trú, ngày cấp và hạn của thẻ)",
    "vn_eid": "Mức độ tài khoản định danh điện tử của bạn (mức 1 hoặc mức 2), nơi bạn đăng nhập "
    "(VNeID hoặc Cổng Dịch vụ công quốc gia) và loại tài khoản",
    "vn_org": "Mã số thuế, tên và định danh điện tử của tổ chức, tên người đại diện theo pháp luật (khi nơi "
    "đăng nhập cho biết), và tổ chức mà bạn đang đại diện",
    "vn_official": "Mã cơ quan, đơn vị công tác và vai trò của bạn trong cơ quan",
    "vn_cert": "Tổ chức cấp chứng thư số, số sê-ri và mã định danh ghi trong chứng thư số của bạn",
}
"""What each restricted scope reveals, in plain Vietnamese (the consent page shows the same)."""


def is_restricted(scope: str) -> bool:
    return scope in RESTRICTED_SCOPES


ORGANISATION = "organization"
"""``vn_account_type`` of an organisation e-ID account (an organisation signed in, not a person)."""

CONSENT = "consent"
TRUSTED_SERVICE = "trusted_service"
"""Why a scope's claims may be released to a client (recorded per release, shown to the person):
``consent``, the person's explicit consent on this provider's consent page (every restricted scope,
and every scope for a client that is not first-party); ``trusted_service``, a standard scope for a
first-party (trusted) provincial service the person signs in to, which gets no consent page."""


def legal_basis(scope: str, trusted_client: bool) -> str:
    """The legal basis of releasing ``scope`` to a client (see :data:`TRUSTED_SERVICE`)."""
    return TRUSTED_SERVICE if trusted_client and not is_restricted(scope) else CONSENT


def claims_of(scopes: set[str] | frozenset[str] | tuple[str, ...]) -> frozenset[str]:
    """Every user claim the given scopes reveal (unknown scopes reveal none)."""
    out: set[str] = set()
    for scope in scopes:
        out |= SCOPE_CLAIMS.get(scope, frozenset())
    return frozenset(out)
