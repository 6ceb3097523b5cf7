"""Protection of sign-in against guessing: throttling and temporary locks."""
