"""One command: migrate the sqlite database, create the demo users, serve on 127.0.0.1:8000.

    python example_projects/django_site/run.py            # then open http://127.0.0.1:8000/
    python example_projects/django_site/run.py --setup    # only migrate and create the users

With no OTEL_EXPORTER_OTLP_ENDPOINT set, seclog prints each event as a JSON line on stderr.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def setup() -> None:
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if not User.objects.filter(username="demo").exists():
        User.objects.create_user("demo", "demo@example.com", "demo-password-123")
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@example.com", "admin-password-123")


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(HERE))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")
    import django

    django.setup()
    setup()
    if "--setup" in argv:
        return
    from django.core.management import call_command

    call_command("runserver", "127.0.0.1:8000", use_reloader=False)


if __name__ == "__main__":
    main(sys.argv[1:])
