"""The checks of an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2, RFC 7636, RFC 9126,
RFC 9101), each in its own module with one contract, run in order by one chain (:mod:`.chain`), as
node oidc-provider's ``lib/actions/authorization/`` does:

1. :mod:`.request_object`: a PAR ``request_uri`` or a request object replaces the parameters;
2. :mod:`.client`: the client is named once and known;
3. :mod:`.redirect_uri`: the redirect URI is one it registered (exact match);
4. :mod:`.par`: a client that must push its requests did;
5. :mod:`.parameters`: every parameter at most once and not too long; no request object here;
6. :mod:`.response_type`: ``code``, for a client allowed the code grant, in a known response mode;
7. :mod:`.scope`: scopes the provider and the client know; restricted ones only under the strict profile;
8. :mod:`.pkce`: an S256 code challenge;
9. :mod:`.prompt`: known ``prompt`` values and a well-formed ``max_age``;
10. :mod:`.claims`: the ``claims`` parameter's shape.

Until the redirect URI is verified a failure is a page (never a redirect, §4.1.2.1); after, it
goes back to the client. The checks that need the person's session (``id_token_hint``) and the
client's policy are the sign-in flow's (:mod:`idp.oidc.flow.checks`)."""
