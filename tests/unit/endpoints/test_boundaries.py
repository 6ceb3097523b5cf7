"""The endpoint modules stay thin routers: none imports another endpoint module (only the shared
``idp.endpoints.common``)."""

from __future__ import annotations

from pathlib import Path

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

