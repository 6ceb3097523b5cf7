"""Administration of the provider: the services behind the admin API (``/admin/``) and the ``idp``
commands that change clients, people, policies and keys, with the API's schemas."""
