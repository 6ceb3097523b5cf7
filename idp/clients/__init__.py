"""Relying-party registration: metadata validation and client secrets."""
