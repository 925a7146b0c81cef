"""The one rule for ids that become folder names (sessions, runs, imports)."""

from __future__ import annotations

import re

NAME_MAX = 200
NAME_RE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{NAME_MAX - 1}}}")
"""Session and run ids: folder names. No separators and no leading dot or dash, so an id can
only ever name a direct, non-hidden child folder (``..`` and absolute paths cannot match)."""
