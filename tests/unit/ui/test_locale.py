"""Choosing the page language: ui_locales > cookie > relying party hint > Accept-Language > Vietnamese."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from idp.ui.i18n import accept_language_locale, locale_for, parse_locale


def _request(query: str = "", cookie: str | None = None, accept: str | None = None) -> Request:
    headers = []
    if cookie:
        headers.append((b"cookie", f"idp_locale={cookie}".encode()))
    if accept:
        headers.append((b"accept-language", accept.encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode(),
                    "headers": headers})


@pytest.mark.parametrize(("value", "expected"), [
    ("en", "en"), ("en-US vi", "en"), ("fr vi-VN", "vi"), ("de fr", None), ("", None), (None, None), ("EN_gb", "en"),
])
def test_parse_locale(value: str | None, expected: str | None) -> None:
    assert parse_locale(value) == expected


@pytest.mark.parametrize(("header", "expected"), [
    ("en-US,en;q=0.9", "en"),
    ("fr-FR,fr;q=0.9,en;q=0.5,vi;q=0.8", "vi"),
    ("vi;q=0, en;q=0.1", "en"),
    ("*", None),
    ("de", None),
    ("en;q=abc, vi", "vi"),
])
def test_accept_language(header: str, expected: str | None) -> None:
    assert accept_language_locale(header) == expected


def test_default_is_vietnamese() -> None:
    assert locale_for(_request()) == "vi"


def test_order_of_preference() -> None:
    assert locale_for(_request(accept="en")) == "en"
    assert locale_for(_request(accept="en"), hint="vi") == "vi"
    assert locale_for(_request(cookie="en", accept="vi"), hint="vi") == "en"
    assert locale_for(_request(query="ui_locales=vi", cookie="en")) == "vi"
    assert locale_for(_request(query="ui_locales=xx", cookie="en")) == "en"
