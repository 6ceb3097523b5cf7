"""The message catalogues: same keys, nothing empty, same placeholders, every key a template uses exists."""

from __future__ import annotations

import json
import re
import string
from importlib import resources

import pytest

from idp.ui.i18n import SUPPORTED_LOCALES, MissingMessage, Translator, catalogue


def _placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def test_catalogues_have_the_same_keys() -> None:
    vi, en = catalogue("vi"), catalogue("en")
    assert sorted(set(vi) - set(en)) == []
    assert sorted(set(en) - set(vi)) == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_no_message_is_empty(locale: str) -> None:
    empty = [key for key, message in catalogue(locale).items() if not message.strip()]
    assert empty == []


def test_translations_use_the_same_placeholders() -> None:
    vi, en = catalogue("vi"), catalogue("en")
    differing = [key for key in vi if _placeholders(vi[key]) != _placeholders(en[key])]
    assert differing == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalogue_files_have_no_duplicate_keys(locale: str) -> None:
    text = resources.files("idp.ui").joinpath("locales", f"{locale}.json").read_text(encoding="utf-8")

    def refuse_duplicates(pairs: list[tuple[str, str]]) -> dict[str, str]:
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys in {locale}.json"
        return dict(pairs)

    json.loads(text, object_pairs_hook=refuse_duplicates)


def test_vietnamese_catalogue_is_written_with_diacritics() -> None:
    vi = catalogue("vi")
    assert vi["login.username"] == "Tên đăng nhập"
    assert vi["login.password"] == "Mật khẩu"
    assert vi["login.submit"] == "Đăng nhập"
    assert vi["consent.allow"] == "Đồng ý"
    assert vi["consent.deny"] == "Từ chối"
    assert vi["logout.confirm"] == "Đăng xuất"
    assert vi["demo.banner"] == "Bản trình diễn — không dùng cho dịch vụ thật"
    assert vi["brand.default"] == "Cổng xác thực tỉnh"
    # No Vietnamese message is plain ASCII apart from names that are the same in every language.
    ascii_only = [k for k, v in vi.items() if v.isascii() and v != catalogue("en")[k]]
    assert ascii_only == []


def test_same_error_message_for_unknown_user_and_wrong_password() -> None:
    # login_failed is the only message for both cases: it must not say which part was wrong.
    for locale in SUPPORTED_LOCALES:
        message = catalogue(locale)["error.login_failed.message"].lower()
        assert "không tồn tại" not in message and "does not exist" not in message


REQUIRED = [
    *(f"scope.{s}.{part}" for s in ("openid", "profile", "email", "phone", "address", "offline_access",
                                    "vn_id", "vn_eid", "vn_org", "vn_official", "vn_cert")
      for part in ("label", "description")),
    *(f"error.{e}.{part}" for e in ("invalid_request", "unknown_client", "redirect_uri_mismatch", "csrf_failed",
                                    "session_expired", "login_failed", "account_locked", "source_unavailable",
                                    "upstream_rejected", "server_error", "access_denied")
      for part in ("title", "message")),
]


@pytest.mark.parametrize("key", REQUIRED)
def test_required_messages_exist(key: str) -> None:
    assert key in catalogue("vi") and key in catalogue("en")


def test_every_literal_key_used_by_a_template_exists() -> None:
    templates = resources.files("idp.ui").joinpath("templates")
    used: set[str] = set()
    entries = [*templates.iterdir(), *(e for d in templates.iterdir() if d.is_dir() for e in d.iterdir())]
    for entry in (e for e in entries if e.is_file()):  # console/ templates live in a folder
        used |= set(re.findall(r"\bt\('([a-z_.]+[a-z_])'\s*[,)]", entry.read_text(encoding="utf-8")))
    assert len(used) > 40
    assert sorted(used - set(catalogue("vi"))) == []


def test_strict_translator_raises_on_missing_key_and_parameter() -> None:
    t = Translator("vi", strict=True)
    with pytest.raises(MissingMessage):
        t("no.such.key")
    with pytest.raises(MissingMessage):
        t("login.for_client")  # needs client_name
    assert t("login.for_client", client_name="Một cửa") == "để tiếp tục sử dụng Một cửa"


def test_lenient_translator_falls_back_to_the_key() -> None:
    t = Translator("en")
    assert t("no.such.key") == "no.such.key"
    assert Translator("fr").locale == "vi"
