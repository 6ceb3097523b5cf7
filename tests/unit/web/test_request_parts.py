"""The protocol endpoints read the path and query from the ASGI scope instead of building the
request URL: they must read exactly what Starlette's ``url.path`` and ``query_params`` read."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from idp.web.context import query_items, request_path


@pytest.mark.parametrize(("path", "query"), [
    ("/token", b""), ("/introspect", b"token=abc"), ("/a?b#c\\d", b"x=1&y=&z&x=2&%C3%A9=%E1%BB%87"),
    ("/t", b"&"), ("/t", b"a=%ZZ&b=+plus+&c=%00"), ("/đường-dẫn", b"q=%E9"),
])
def test_path_and_query_read_as_starlette_reads_them(path: str, query: bytes) -> None:
    scope = {"type": "http", "method": "POST", "path": path, "query_string": query, "scheme": "http",
             "headers": [(b"host", b"idp.example.vn")], "server": ("127.0.0.1", 80)}
    request = Request(scope)
    assert request_path(request) == request.url.path
    assert query_items(request) == list(request.query_params.multi_items())


def test_a_raw_non_utf8_query_is_read_not_a_crash() -> None:
    """Building Starlette's URL fails on such a query string (UnicodeDecodeError); ours reads it."""
    scope = {"type": "http", "method": "POST", "path": "/token", "query_string": b"q=\xe9", "headers": []}
    assert query_items(Request(scope)) == [("q", "é")]
