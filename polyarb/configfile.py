"""Config files (profiles, alert rules, promotion rules): YAML in, one-line errors out.

Errors name the file, the key, the value and the allowed range. Profiles and alert
rules both use this, so it sits below both.

Config files may come from anywhere (a copied profile, a shared folder), so the one
loader treats them as hostile: only regular files (a device or FIFO would block or
never end), at most :data:`MAX_BYTES`, strict UTF-8, at most :data:`MAX_DEPTH` levels
of nesting and at most :data:`MAX_NODES` values once aliases are expanded (a few
hundred bytes of nested aliases otherwise expand to billions of values when a
profile is validated or hashed).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from polyarb.errors import PolyarbError

if TYPE_CHECKING:
    from pydantic import ValidationError

MAX_BYTES = 1 << 20
"""Real profiles are a few KB."""
MAX_DEPTH = 64
MAX_NODES = 100_000
"""Values in the document with every alias expanded."""


class _Refused(PolyarbError):
    """Internal: the document breaks a bound; turned into the caller's error class."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that bounds nesting while composing and expanded size before constructing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        node = super().compose_document()
        if node is not None:
            _expanded_size(node)
        return node


def _expanded_size(root: yaml.Node) -> int:
    """Values under ``root`` counting every alias in full; refuses cycles and huge expansions."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise _Refused("an alias refers to a value that contains it (recursive anchor)")
        if depth > MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels once aliases are expanded")
        busy.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        busy.discard(key)
        if total > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES:,} values once aliases are expanded")
        sizes[key] = total
        return total

    return size(root, 0)


def read_config_text(p: Path, error: type[Exception], what: str) -> str:
    """The UTF-8 text of regular file ``p`` (at most :data:`MAX_BYTES`), else ``error``."""
    try:
        st = os.stat(p)  # before open: opening a FIFO blocks, a device never ends
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{p}: cannot read {what}: not a regular file")
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # swapped since the stat
                raise error(f"{p}: cannot read {what}: not a regular file")
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise error(f"{p}: cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise error(f"{p}: {what} larger than {MAX_BYTES // 1024} KiB; refusing to parse it")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{p}: {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def load_yaml(path: Path | str, error: type[Exception], what: str) -> Any:
    """The parsed YAML of ``path``; unreadable, oversized or malformed files raise ``error``."""
    p = Path(path)
    text = read_config_text(p, error, what)
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except _Refused as exc:
        raise error(f"{p}: {what} refused: {exc}") from None
    except RecursionError:
        raise error(f"{p}: {what} refused: nested too deeply") from None
    except yaml.YAMLError as exc:
        raise error(f"{p}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()


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


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"risk": {"min_edge": "0.005"}}`` → ``{"risk.min_edge": "0.005"}`` (keys sorted)."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key in sorted(data):
            out.update(flatten(data[key], f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}
