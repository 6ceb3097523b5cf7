"""vn-idp: an OpenID Connect identity provider for Vietnamese provincial e-government."""

__version__ = "0.1.0"
