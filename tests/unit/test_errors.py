"""One error hierarchy: every exception class the provider's packages define descends from IdpError.

A caller that catches ``IdpError`` (the web layer's last resort before a generic error page, the
``idp`` command's one-line failure) then catches every error raised on purpose, whichever package
raised it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

from idp.errors import IdpError

PACKAGES = ("idp", "adapters", "keys", "policies")


def _modules() -> list[ModuleType]:
    modules = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if info.name.endswith("__main__") or ".migrations" in info.name:  # run by python -m, by Alembic
                continue
            modules.append(importlib.import_module(info.name))
    return modules


def test_every_exception_class_descends_from_idp_error() -> None:
    modules = _modules()
    defined = {
        cls
        for module in modules
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and issubclass(cls, BaseException)
    }
    assert len(modules) > 100 and len(defined) > 30  # the walk saw the packages
    outside = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in defined if not issubclass(cls, IdpError))
    assert outside == [], "outside IdpError: " + ", ".join(outside)
