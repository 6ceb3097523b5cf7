"""The built-in password source over the provider's own local accounts."""
