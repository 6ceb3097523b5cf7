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


def _starlette_links(request: Request, current: str, page_url: str | None) -> list[dict[str, str]]:
    """The language links as Starlette's URL API builds them (what _locale_links must agree with)."""
    from urllib.parse import urlsplit

    from idp.ui.i18n import LOCALE_PARAM, SUPPORTED_LOCALES

    base = request.url if page_url is None else request.url.replace(
        path=urlsplit(page_url).path, query=urlsplit(page_url).query)
    links = []
    for locale in SUPPORTED_LOCALES:
        if locale != current:
            url = base.include_query_params(**{LOCALE_PARAM: locale})
            links.append({"locale": locale, "url": url.path + ("?" + url.query if url.query else "")})
    return links


@pytest.mark.parametrize(("path", "query", "page_url"), [
    ("/login", b"", None),
    ("/authorize", b"client_id=portal&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope=openid+profile", None),
    ("/authorize", b"ui_locales=en&state=a%26b&empty=&x=1&x=2", None),
    ("/đăng-nhập", b"q=Nguy%E1%BB%85n", None),
    ("/login", b"", "/authorize?client_id=portal&ui_locales=vi&nonce=n%20n"),
    ("/login", b"a=1", "/account/sessions"),
])
def test_locale_links_match_the_full_url_api(path: str, query: bytes, page_url: str | None) -> None:
    from idp.ui.render import _locale_links

    scope = {"type": "http", "method": "GET", "path": path, "query_string": query, "root_path": "",
             "headers": [(b"host", b"idp.example")], "scheme": "https", "server": ("idp.example", 443)}
    for current in ("vi", "en"):
        assert _locale_links(Request(scope), current, page_url) == _starlette_links(Request(scope), current, page_url)
