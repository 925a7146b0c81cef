"""Config files (profiles, alert rules, promotion rules): YAML in, one-line errors out.

Errors name the file, the key, the value and the allowed range. Profiles and alert
rules both use this, so it sits below both.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from pydantic import ValidationError


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


def format_validation_errors(path: Path | str, exc: ValidationError, what: str = "profile") -> str:
    """One line per problem: ``key = value: rule (allowed: ge 0, le 10)``, under the file name."""
    lines = [f"{path}: invalid {what} ({exc.error_count()} problem(s))"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        rule = err["msg"]
        ctx = err.get("ctx") or {}
        bounds = ", ".join(f"{k} {v}" for k, v in ctx.items() if k in ("ge", "gt", "le", "lt"))
        allowed = f" (allowed: {bounds})" if bounds else ""
        if err["type"] == "extra_forbidden":
            rule = "unknown key"
        if err["type"] == "value_error" and not err["loc"]:
            # Cross-field rules already name their key, value and range in the message.
            lines.append(f"  {rule.removeprefix('Value error, ')}")
            continue
        lines.append(f"  {key}{shown}: {rule}{allowed}")
    return "\n".join(lines)
