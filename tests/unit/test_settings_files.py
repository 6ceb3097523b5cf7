"""Settings read from files (``IDP_<NAME>_FILE``, container secrets) and the names that are no
setting (warned about at start-up by ``idp serve``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.settings import SettingsError, load_settings, unknown_setting_names

SECRET = "a-database-password-nobody-may-see"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("IDP_"):
            monkeypatch.delenv(name)


def test_a_setting_is_read_from_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "db").write_text(f"postgresql://idp:{SECRET}@db/idp\n", encoding="utf-8")
    (tmp_path / "proxies").write_text('["10.0.0.0/8"]', encoding="utf-8")
    (tmp_path / "kek").write_text("A" * 43 + "=\n", encoding="utf-8")
    monkeypatch.setenv("IDP_DATABASE_URL_FILE", str(tmp_path / "db"))
    monkeypatch.setenv("IDP_TRUSTED_PROXIES_FILE", str(tmp_path / "proxies"))
    monkeypatch.setenv("idp_key_encryption_key_file", str(tmp_path / "kek"))  # names are not case-sensitive
    settings = load_settings()
    assert settings.database_url == f"postgresql://idp:{SECRET}@db/idp"  # the newline is not part of it
    assert settings.trusted_proxies == ["10.0.0.0/8"]
    assert settings.key_encryption_key is not None and settings.key_encryption_key.get_secret_value() == "A" * 43 + "="


def test_refusals_name_the_variable_never_the_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "db").write_text(f"mysql://idp:{SECRET}@db/idp", encoding="utf-8")
    monkeypatch.setenv("IDP_DATABASE_URL_FILE", str(tmp_path / "db"))
    with pytest.raises(SettingsError, match="IDP_DATABASE_URL") as wrong:
        load_settings()
    assert SECRET not in str(wrong.value)
    monkeypatch.setenv("IDP_DATABASE_URL", "sqlite:///x.db")
    with pytest.raises(SettingsError, match="both IDP_DATABASE_URL and IDP_DATABASE_URL_FILE"):
        load_settings()
    monkeypatch.delenv("IDP_DATABASE_URL")
    monkeypatch.setenv("IDP_DATABASE_URL_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="IDP_DATABASE_URL_FILE: cannot read .*missing"):
        load_settings()


def test_names_that_are_no_setting() -> None:
    environ = {"IDP_ISSUER": "x", "IDP_PKCS11_PIN_FILE": "/run/secrets/pin", "IDP_ISSUR": "typo",
               "IDP_TEST_POSTGRES_URL": "postgresql://", "PATH": "/bin", "idp_redis_ulr": "typo"}
    assert unknown_setting_names(environ) == ["IDP_ISSUR", "idp_redis_ulr"]
