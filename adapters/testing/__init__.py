"""A deterministic adapter for functional tests: password and redirect capabilities, fixed users.

Refused unless the issuer is on a loopback address, so it cannot end up in production.
"""
