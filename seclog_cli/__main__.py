"""``python -m seclog_cli``: the same as the ``seclog`` command."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
