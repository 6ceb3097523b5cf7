"""A tiny HTML reader for the page tests: forms, inputs, labels, lang, links."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    attrs: dict[str, str | None]
    inputs: list[dict[str, str | None]] = field(default_factory=list)
    buttons: list[dict[str, str | None]] = field(default_factory=list)


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang: str | None = None
        self.forms: list[Form] = []
        self.inputs: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.links: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.inline_scripts = 0
        self.styles_inline = 0
        self.autofocus = 0
        self.h1 = 0
        self._in_form: Form | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "autofocus" in a:
            self.autofocus += 1
        if "style" in a:
            self.styles_inline += 1
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "form":
            self._in_form = Form(a)
            self.forms.append(self._in_form)
        elif tag == "input":
            self.inputs.append(a)
            if self._in_form:
                self._in_form.inputs.append(a)
        elif tag == "button" and self._in_form:
            self._in_form.buttons.append(a)
        elif tag == "label" and a.get("for"):
            self.label_for.add(str(a["for"]))
        elif tag == "a":
            self.links.append(a)
        elif tag == "script":
            self.scripts.append(a)
            if not a.get("src"):
                self.inline_scripts += 1
        elif tag == "style":
            self.styles_inline += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = None
