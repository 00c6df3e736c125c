"""Integrations with ASGI auth libraries that report through hooks rather than HTTP statuses.

Each module imports its library; import only the one the app uses
(``seclog_asgi.integrations.fastapi_users``).
"""
