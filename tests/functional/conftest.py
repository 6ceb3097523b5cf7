"""Fixtures shared by the functional tests (a running provider per backend)."""

from tests.functional.oidc_fixtures import deployment

__all__ = ["deployment"]
