"""Create the site's database and its one non-staff user (run once before the server starts)."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.hostile.apps.django_site.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from .. import PASSWORD, USERNAME  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)
get_user_model().objects.create_user(USERNAME, password=PASSWORD)
