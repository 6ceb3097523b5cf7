"""``idp settings``: the configuration reference, generated from the settings model's field
descriptions (so the documentation cannot drift from the code)."""

from __future__ import annotations

import argparse

from idp.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("settings", help="print the configuration reference (Markdown)")
    parser.set_defaults(handler=_print)


def reference() -> str:
    lines = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default if field.default is not None else ""
        if hasattr(default, "get_secret_value"):
            default = "(secret)"
        text = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `IDP_{name.upper()}` | `{default}` | {text} |")
    return "\n".join(lines)


def _print(_args: argparse.Namespace) -> int:
    print(reference())
    return 0
