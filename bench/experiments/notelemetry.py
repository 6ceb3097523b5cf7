"""Experiment: our app with FastAPI's per-request telemetry check switched off."""
# mypy: ignore-errors

from idp.app import create_app as _create


def create_app():
    app = _create()
    app._native_telemetry.enabled = lambda: False
    return app
