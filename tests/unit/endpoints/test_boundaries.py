"""The endpoint modules stay thin routers: none imports another endpoint module (only the shared
``idp.endpoints.common``), none touches storage (``idp.storage``, ``.storage``, ``.ephemeral``), and
each has one route table (its router, the direct routes of idp.web.protocol declared on it)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

from fastapi import APIRouter

from idp.web.protocol import direct_routes
from tests.unit.specs.test_boundaries import imports_of, module_name

ENDPOINTS = Path(__file__).resolve().parents[3] / "idp" / "endpoints"
ALLOWED = {"idp.endpoints", "idp.endpoints.common"}


def test_no_endpoint_module_imports_another() -> None:
    found = {}
    for path in sorted(ENDPOINTS.glob("*.py")):
        others = {m for m in imports_of(path)
                  if m.startswith("idp.endpoints") and m not in ALLOWED and not m.startswith("idp.endpoints.common.")}
        if others and path.name != "__init__.py":
            found[module_name(path)] = sorted(others)
    assert found == {}



def storage_reaches(path: Path) -> list[str]:
    """Where ``path`` reaches the stores: an import of ``idp.storage``, or an attribute ``storage``
    or ``ephemeral`` read (``provider.storage``, ``runtime.ephemeral``), with its line."""
    found = [f"import {m}" for m in sorted(imports_of(path)) if m == "idp.storage" or m.startswith("idp.storage.")]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("storage", "ephemeral"):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def test_no_endpoint_module_touches_storage() -> None:
    """Endpoints call the core's services (the flow, logouts, registration, the audit search,
    the runtime's readiness); none reads the durable or the short-lived store itself."""
    found = {path.name: reaches for path in sorted(ENDPOINTS.glob("*.py")) if (reaches := storage_reaches(path))}
    assert found == {}


def test_the_storage_check_sees_an_import_and_an_attribute(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text("from idp.storage.models import Client\n\n\ndef f(p):\n    return p.storage.db, p.ephemeral\n")
    assert sorted(storage_reaches(module)) == ["import idp.storage.models", "import idp.storage.models.Client",
                                               "line 5: .ephemeral", "line 5: .storage"]


def endpoint_modules() -> list[ModuleType]:
    return [importlib.import_module(module_name(path)) for path in sorted(ENDPOINTS.glob("*.py"))
            if path.stem not in ("__init__", "common")]


def test_each_endpoint_module_has_one_route_table() -> None:
    """Its ``router``: the direct routes (answered before the framework) are declared on it, not in
    a second table beside it."""
    tables = {}
    for module in endpoint_modules():
        others = [name for name, value in vars(module).items() if isinstance(value, dict) and value
                  and all(isinstance(key, tuple) and len(key) == 2 for key in value)]
        tables[module.__name__] = (isinstance(getattr(module, "router", None), APIRouter), others)
    assert {name: table for name, table in tables.items() if table != (True, [])} == {}


def test_the_direct_routes_are_the_hot_ones_and_still_in_the_framework_table() -> None:
    """What idp.web.protocol answers before the framework: the token side, userinfo, /authorize and
    the sign-in form; each also in its router's table (another method gets its 405 there)."""
    routers = [module.router for module in endpoint_modules()]
    direct = direct_routes(routers)
    assert sorted(direct) == [
        ("GET", "/authorize"), ("GET", "/interaction/{interaction_id}/login"), ("GET", "/userinfo"),
        ("POST", "/authorize"), ("POST", "/interaction/{interaction_id}/login"), ("POST", "/introspect"),
        ("POST", "/revoke"), ("POST", "/token"), ("POST", "/userinfo")]
    framework = {(method, route.path) for router in routers for route in router.routes
                 for method in getattr(route, "methods", ())}
    assert set(direct) <= framework
