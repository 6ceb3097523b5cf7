"""Every setting is documented, and docs/configuration.md is what ``idp settings`` prints."""

from __future__ import annotations

from pathlib import Path

from idp.cli.settings_reference import reference
from idp.settings import Settings

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_every_setting_has_a_description() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not (field.description or "").strip()]
    assert missing == []


def test_configuration_reference_is_current() -> None:
    assert reference() in DOC.read_text(encoding="utf-8"), "run: idp settings and update docs/configuration.md"
