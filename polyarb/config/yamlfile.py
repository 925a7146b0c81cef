"""Reading a YAML config file with errors that name the file (profiles, alerts, promotion)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def load_yaml(path: Path | str, error: type[Exception], what: str) -> Any:
    """The parsed YAML of ``path``; unreadable or malformed files raise ``error``."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise error(f"{p}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{p}: not valid YAML: {exc}") from None
