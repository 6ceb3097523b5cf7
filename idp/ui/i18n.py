"""Message catalogues and the choice of language.

Catalogues are flat JSON files, ``locales/<locale>.json``, mapping a key (``login.title``) to a
message with ``{name}`` placeholders. Vietnamese is the default and the fallback; English is one
click away. A page asks for a message with ``t(key, **params)``.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import Request

from idp.errors import IdpError

DEFAULT_LOCALE = "vi"
SUPPORTED_LOCALES = ("vi", "en")
LOCALE_COOKIE = "idp_locale"
LOCALE_PARAM = "ui_locales"

log = logging.getLogger(__name__)


class MissingMessage(KeyError, IdpError):
    """A catalogue lacks a key, or a message lacks a parameter (raised only in strict mode)."""


@cache
def catalogue(locale: str) -> dict[str, str]:
    """The messages of one supported locale (read once per process)."""
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    text = resources.files("idp.ui").joinpath("locales", f"{locale}.json").read_text(encoding="utf-8")
    messages = json.loads(text)
    if not isinstance(messages, dict) or not all(isinstance(v, str) for v in messages.values()):
        raise ValueError(f"catalogue {locale}.json must be a flat object of strings")
    return messages


class Translator:
    """``t(key, **params)`` for one locale. Strict: a missing key or parameter raises
    :class:`MissingMessage`; otherwise it falls back to Vietnamese, then to the key itself."""

    def __init__(self, locale: str, *, strict: bool = False) -> None:
        self.locale = locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE
        self.strict = strict

    def has(self, key: str) -> bool:
        """Whether the catalogue of this locale has ``key``."""
        return key in catalogue(self.locale)

    def __call__(self, key: str, **params: Any) -> str:
        message = catalogue(self.locale).get(key)
        if message is None:
            if self.strict:
                raise MissingMessage(f"no message {key!r} in {self.locale}.json")
            log.warning("no message %r in %s.json", key, self.locale)
            message = catalogue(DEFAULT_LOCALE).get(key, key)
        if not params and "{" not in message:
            return message
        try:
            return message.format_map(params)
        except (KeyError, IndexError, ValueError) as exc:
            if self.strict:
                raise MissingMessage(f"message {key!r} in {self.locale}.json: bad parameters ({exc})") from None
            log.warning("message %r in %s.json: bad parameters", key, self.locale)
            return message


def parse_locale(value: str | None) -> str | None:
    """The first supported locale in a space-separated list of BCP 47 tags (``ui_locales``)."""
    for tag in (value or "").replace(",", " ").split():
        primary = tag.split("-", 1)[0].split("_", 1)[0].lower()
        if primary in SUPPORTED_LOCALES:
            return primary
    return None


def accept_language_locale(header: str | None) -> str | None:
    """The supported locale the ``Accept-Language`` header prefers most (RFC 9110 §12.5.4)."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")):
        fields = part.strip().split(";")
        locale = parse_locale(fields[0])
        if locale is None:
            continue
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        candidate = (quality, -position, locale)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else None


def locale_for(request: Request, hint: str | None = None) -> str:
    """The page language: ``ui_locales`` query parameter > ``idp_locale`` cookie > ``hint`` (for
    example the ``ui_locales`` of a stored authorization request) > ``Accept-Language`` > Vietnamese."""
    return (
        parse_locale(request.query_params.get(LOCALE_PARAM))
        or parse_locale(request.cookies.get(LOCALE_COOKIE))
        or parse_locale(hint)
        or accept_language_locale(request.headers.get("accept-language"))
        or DEFAULT_LOCALE
    )
