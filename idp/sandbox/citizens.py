"""Synthetic citizens and organisations. The numbers have the valid 12-digit format (province code,
century/sex digit, year) but belong to nobody; names are ordinary Vietnamese names with diacritics.
Tax codes have the 10-digit format of an enterprise's code and belong to nobody either."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Citizen:
    personal_id: str
    full_name: str
    birthdate: date
    gender: str  # "male" / "female"
    eid_level: int = 2

    @property
    def family_name(self) -> str:
        return self.full_name.split(" ")[0]

    @property
    def given_names(self) -> str:
        """What Keycloak keeps as firstName: everything after the family name."""
        return " ".join(self.full_name.split(" ")[1:])


CITIZENS: tuple[Citizen, ...] = (
    Citizen("049085001234", "Nguyễn Văn An", date(1985, 3, 12), "male"),
    Citizen("048193004567", "Trần Thị Bích Ngọc", date(1993, 11, 2), "female"),
    Citizen("049201000789", "Lê Minh Khôi", date(2001, 7, 30), "male", eid_level=1),
    Citizen("046186012345", "Phạm Thị Hồng Nhung", date(1986, 1, 5), "female"),
    Citizen("049066000321", "Hồ Đắc Lộc", date(1966, 9, 19), "male"),
)


@dataclass(frozen=True)
class Organisation:
    """An organisation with an organisation e-ID account: its tax code (mã số thuế), organisation
    e-ID number and name, the citizen who is its legal representative (signs in with its account)
    and the citizens employed there (its staff)."""

    tax_code: str
    org_eid: str
    name: str
    representative: str  # personal ID number of the legal representative
    employees: tuple[str, ...] = ()

    @property
    def account(self) -> str:
        """How the sandbox's login page names the organisation's account: ``MST:<tax code>``."""
        return f"MST:{self.tax_code}"


ORGANISATIONS: tuple[Organisation, ...] = (
    Organisation("0401234567", "TC0401234567", "Công ty TNHH Thương mại Sông Hàn", "049085001234",
                 ("048193004567",)),
    Organisation("0409876543", "TC0409876543", "Hợp tác xã Nông nghiệp Hòa Vang", "046186012345",
                 ("049066000321", "048193004567")),
)


def organisation(tax_code: str) -> Organisation | None:
    return next((o for o in ORGANISATIONS if o.tax_code == tax_code), None)
