"""Rendering pages: ``render_page``, ``error_page``, ``form_post_page``, ``locale_for``.

Every page gets, besides its own context (documented at the top of each template): ``locale``,
``t`` (messages of that locale), ``has_message``, ``csrf_token``, ``brand_name``, ``demo``,
``static_url``, ``locale_links`` (one link per other language), ``request_id``. Responses are
``no-store``: pages may carry codes, tokens or personal data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, Undefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from idp.settings import Settings
from idp.ui.context import normalise_context
from idp.ui.filters import format_datetime, grouped, localized
from idp.ui.i18n import LOCALE_COOKIE, LOCALE_PARAM, SUPPORTED_LOCALES, Translator, locale_for, parse_locale
from idp.web.context import query_items, request_id, request_path, settings_of
from idp.web.csrf import csrf_token, pending_cookie
from idp.web.headers import content_security_policy

__all__ = ["error_page", "form_post_page", "locale_for", "render_page"]

_SCRIPTED_TEMPLATES = frozenset({"form_post.html", "upstream_logout.html",  # submitted on load
                                 "passkey.html", "enrol.html", "account_passkeys.html",  # WebAuthn ceremonies
                                 "certificate.html"})  # asks the local signing tool (idp/endpoints/certificate.py)
_LOCALE_COOKIE_SECONDS = 365 * 24 * 3600


#: Optional context variables and their values when an endpoint leaves them out.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "login.html": {"client_name": None, "login_hint": None, "error_id": None, "notice_id": None, "adapters": []},
    "consent.html": {"claims": [], "restricted": None, "acting_for": None},
    "organisation.html": {"client_name": None, "error_id": None},
    "account.html": {"grants": [], "recent_signins": [], "logout_action": None, "totp_enroll_url": None,
                     "notice_id": None},
    "logout_confirm.html": {"client_name": None, "hidden": {}},
    "logged_out.html": {"client_name": None, "return_url": None},
    "error.html": {"detail": None, "back_url": None},
    "mfa.html": {"error_id": None, "totp": True, "passkey_url": None, "recovery": False},
    "passkey.html": {"error_id": None, "mfa_url": None, "second_factor": False},
    "enrol.html": {"error_id": None, "client_name": None},
    "account_passkeys.html": {"notice_id": None, "error_id": None},
    "personal_data.html": {"confirm_erasure": False},
    "totp_enroll.html": {"error_id": None, "interaction": None},
    "select_account.html": {"client_name": None, "accounts": []},
}


@cache
def _environment(strict: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("idp.ui", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined if strict else Undefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # package data: a template changes only with a new release (and a restart)
    )
    env.filters.update(localized=localized, datetime=format_datetime, grouped=grouped)
    return env


@cache
def _static_version(name: str) -> str:
    data = resources.files("idp.ui").joinpath("static", name).read_bytes()
    return hashlib.sha256(data).hexdigest()[:10]


def static_path_prefix(settings: Settings) -> str:
    """Where static files are served: ``/static`` under the issuer's path."""
    return urlsplit(settings.issuer).path.rstrip("/") + "/static"


def _brand_name(settings: Settings, t: Translator) -> str:
    if t.locale == "en":
        return settings.brand_name_en or settings.brand_name or t("brand.default")
    return settings.brand_name or t("brand.default")


def _locale_links(request: Request, current: str, page_url: str | None) -> list[dict[str, str]]:
    """Links that show the same page in each other language (a GET of ``page_url`` or this URL
    with ``ui_locales`` set, replacing any there; the page then remembers the choice in a cookie).
    Built from the path and query alone: the request's full URL (Host header parsing) is not needed."""
    if page_url is None:
        path, items = request_path(request), query_items(request)
    else:
        parts = urlsplit(page_url)
        path, items = parts.path, parse_qsl(parts.query, keep_blank_values=True)
    kept = [(name, value) for name, value in items if name != LOCALE_PARAM]
    return [{"locale": locale, "url": f"{path}?{urlencode([*kept, (LOCALE_PARAM, locale)])}"}
            for locale in SUPPORTED_LOCALES if locale != current]


def render_page(request: Request, template: str, context: Mapping[str, Any], *, status_code: int = 200,
                form_targets: Iterable[str] = ()) -> HTMLResponse:
    """Render ``template`` in the request's language with the common context.

    ``context["ui_locales"]`` (optional) is the relying party's language wish, weaker than the
    person's own choice; ``context["page_url"]`` (optional) is the GET URL that shows this page again,
    for the language links (default: this request's URL). ``form_targets``: URIs where a form on this
    page may end up, e.g. the client's ``redirect_uri`` when the POST is answered by a redirect to it
    (added to CSP ``form-action``)."""
    settings = settings_of(request)
    locale = locale_for(request, context.get("ui_locales"))
    t = Translator(locale, strict=settings.ui_strict_messages)
    prefix = static_path_prefix(settings)
    common: dict[str, Any] = {
        "locale": locale,
        "t": t,
        "has_message": t.has,
        "csrf_token": csrf_token(request),
        "brand_name": _brand_name(settings, t),
        "demo": settings.demo,
        "static_url": lambda name: f"{prefix}/{name}?v={_static_version(name)}",
        "locale_links": _locale_links(request, locale, context.get("page_url")),
        "request_id": request_id(request),
    }
    values = normalise_context(template, {**common, **_DEFAULTS.get(template, {}), **context})
    html = _environment(settings.ui_strict_messages).get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers={
        "Cache-Control": "no-store", "Pragma": "no-cache", "Content-Language": locale,
        "Content-Security-Policy": content_security_policy(form_targets=form_targets,
                                                           scripts=template in _SCRIPTED_TEMPLATES),
    })
    cookie = pending_cookie(request)
    if cookie:
        response.raw_headers.append((b"set-cookie", cookie.encode("latin-1")))
    chosen = parse_locale(next((v for k, v in reversed(query_items(request)) if k == LOCALE_PARAM), None))
    if chosen and chosen != request.cookies.get(LOCALE_COOKIE):
        response.set_cookie(LOCALE_COOKIE, chosen, max_age=_LOCALE_COOKIE_SECONDS, path="/",
                            secure=settings.secure_cookies, httponly=True, samesite="lax")
    return response


def error_page(request: Request, message_id: str, *, status_code: int = 400,
               detail: str | None = None) -> HTMLResponse:
    """The error page for catalogue message ``error.<message_id>`` (``server_error`` if unknown).
    ``detail`` is shown as plain text below the message: never put secrets or stack traces in it."""
    t = Translator(locale_for(request))
    if not t.has(f"error.{message_id}.title"):
        message_id = "server_error"
    return render_page(request, "error.html", {"message_id": message_id, "detail": detail},
                       status_code=status_code)


def form_post_page(request: Request, redirect_uri: str, params: Mapping[str, str]) -> HTMLResponse:
    """OAuth 2.0 Form Post Response Mode: a page that posts ``params`` to ``redirect_uri``; a
    visible button submits it without JavaScript, a static script submits it on load."""
    return render_page(request, "form_post.html",
                       {"redirect_uri": redirect_uri, "params": dict(params)},
                       form_targets=[redirect_uri])
