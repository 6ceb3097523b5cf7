"""The checks of an authorization request that need the person's session, run by the flow at each
continuation before the client's policy (itself an ordered chain of pure checks:
policies/checks/, run by :func:`policies.engine.evaluate`). The checks of the request alone (PAR,
client, redirect URI, PKCE, scopes...) run before the flow starts: :mod:`idp.specs.authorization_checks`."""
