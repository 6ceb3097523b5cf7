"""OpenID Provider logic that does not depend on HTTP: subject identifiers, claims, tokens,
authorization requests and codes."""
