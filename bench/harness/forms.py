"""Find and fill the login form a person would see (for both servers, whatever their markup)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

USERNAME_NAMES = ("username", "login", "user", "email", "preferred_username", "ten_dang_nhap")


@dataclass
class Form:
    action: str
    method: str
    inputs: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, value)

    @property
    def has_password(self) -> bool:
        return any(kind == "password" for _, kind, _ in self.inputs)

    def fill(self, username: str, password: str) -> list[tuple[str, str]]:
        """Hidden fields (CSRF, request handles) as given; the username and password filled in."""
        texts = [name for name, kind, _ in self.inputs if kind in ("text", "email", "")]
        user_field = next((n for n in texts if n.lower() in USERNAME_NAMES), texts[0] if texts else None)
        values: list[tuple[str, str]] = []
        for name, kind, value in self.inputs:
            if kind == "password":
                values.append((name, password))
            elif name == user_field:
                values.append((name, username))
            elif kind in ("hidden",):
                values.append((name, value))
        return values

    def submit(self) -> list[tuple[str, str]]:
        """A form without a password (consent, confirmation): hidden fields and its first button."""
        values = [(n, v) for n, kind, v in self.inputs if kind == "hidden"]
        button = next(((n, v) for n, kind, v in self.inputs if kind == "submit" and n), None)
        return values + ([button] if button else [])


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(action=a.get("action", ""), method=a.get("method", "get").upper())
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "button") and a.get("name"):
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            self._current.inputs.append((a["name"], kind, a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def login_form(html: str) -> Form | None:
    forms = parse_forms(html)
    return next((f for f in forms if f.has_password), forms[0] if forms else None)
