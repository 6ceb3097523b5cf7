"""The HTTP layer shared by every router: security headers, CSRF, request context, error handlers."""
