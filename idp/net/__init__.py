"""The provider's own network requests to addresses it does not control."""
