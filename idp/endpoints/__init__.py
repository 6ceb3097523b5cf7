"""Thin HTTP routers, one per endpoint or area."""
