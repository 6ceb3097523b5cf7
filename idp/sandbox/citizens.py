"""Synthetic citizens. The numbers have the valid 12-digit format (province code, century/sex
digit, year) but belong to nobody; names are ordinary Vietnamese names with diacritics."""

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
