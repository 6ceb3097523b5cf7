"""Second factors of local accounts: TOTP (RFC 6238) with recovery codes."""
