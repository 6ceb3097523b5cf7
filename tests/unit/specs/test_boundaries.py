"""The layering the spec modules promise: authlib is imported only in idp/specs/, no spec module
imports the provider object, and no import circle joins idp/oidc and idp/specs (TYPE_CHECKING
imports included: a circle there is still a circle for a reader)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("idp", "adapters", "keys", "policies")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (lazy and TYPE_CHECKING imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def sources() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path)
            for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
            if "node_modules" not in path.parts}


def test_authlib_is_imported_only_by_the_spec_modules() -> None:
    outside = sorted(name for name, imported in sources().items()
                     if not name.startswith("idp.specs") and any(m.split(".")[0] == "authlib" for m in imported))
    assert outside == []


def test_no_spec_module_imports_the_provider() -> None:
    assert sorted(name for name, imported in sources().items()
                  if name.startswith("idp.specs") and "idp.oidc.provider" in imported) == []


def test_no_import_circle_joins_oidc_and_specs() -> None:
    graph = {name: {m for m in imported if m.startswith(("idp.oidc", "idp.specs"))}
             for name, imported in sources().items() if name.startswith(("idp.oidc", "idp.specs"))}
    graph = {name: {m for m in edges if m in graph} for name, edges in graph.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(graph.get(node, ()))
        return False

    crossing = [(a, b) for a, edges in graph.items() for b in edges
                if a.split(".")[1] != b.split(".")[1] and reaches(b, a)]
    assert crossing == []
