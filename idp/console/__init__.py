"""The security staff console: who may use it, what its pages query, and its server-drawn charts."""
