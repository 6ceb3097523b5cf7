"""Pages for people: Jinja2 templates, message catalogues (Vietnamese first, English), static files.

Endpoints call :func:`idp.ui.render.render_page` and :func:`idp.ui.render.error_page`; nothing
else in the provider builds HTML.
"""
