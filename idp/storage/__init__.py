"""Durable storage (SQL) and short-lived state (ephemeral stores) behind narrow protocols."""
