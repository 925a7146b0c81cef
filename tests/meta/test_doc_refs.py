"""Every document the repository refers to is in the repository, with the section named.

Scans docstrings, other string literals and comments of every .py file, comments of the profiles, and the
Markdown docs (README.md, docs/*.md) for references of three kinds:

* a file: ``name.md``, ``docs/...``, ``polyarb/.../x.py``: it must exist (relative to the
  repository root, the referring file's folder, or ``docs/`` for a bare ``x.md``);
* a section: ``docs/x.md §Title`` or ``§4``: the target doc must have a heading whose
  title (number and trailing parenthesis ignored) or number starts the text after ``§``;
  a bare ``§`` in a Markdown file means that file, ``RFC 1234 §5.2`` is an outside standard;
* anything else before ``§`` (``design §4``, ``protocol notes §1``) is a reference to a
  document the repository does not have, and fails.

Before docs/design.md and docs/protocol.md existed, 60-odd places cited ``design §N`` and
``polymarket-protocol.md §N`` from outside the repository; this test failed on each.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCANNED_PY = ("polyarb", "tests", "benchmarks", "scripts")
THIS = Path(__file__).resolve()

FILE_REF = re.compile(
    r"(?<![\w/.:@-])((?:\.\./|[\w-]+/)*[\w.-]+\.md|polyarb/[\w/]+\.py|docs/[\w/.-]+)(?![\w/-])"
)
SECTION = re.compile(r"§")
PLACEHOLDER = re.compile(r"[A-Z_]+/")
"""``REPORTS/daily/D.md``: a folder the user chooses, not a file of the repository."""
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?(?=\s|$)")


def _py_texts(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every comment and string literal."""
    source = path.read_text()
    out: list[tuple[int, str]] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out.append((tok.start[0], tok.string))
    tree = ast.parse(source)
    # In the product every string counts (help texts and messages cite docs as well); in the
    # tests only docstrings do: their other strings are fixture data (``reports/daily.md``).
    only_docstrings = path.is_relative_to(REPO / "tests")
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if only_docstrings and id(node) not in docstrings:
                continue
            for i, line in enumerate(node.value.splitlines()):
                out.append((node.lineno + i, line))
    return out


def _md_texts(path: Path) -> list[tuple[int, str]]:
    return list(enumerate(path.read_text().splitlines(), 1))


def _yaml_texts(path: Path) -> list[tuple[int, str]]:
    return [(n, line[line.index("#") :]) for n, line in _md_texts(path) if "#" in line]


def _sources() -> list[tuple[Path, list[tuple[int, str]]]]:
    files: list[tuple[Path, list[tuple[int, str]]]] = []
    for top in SCANNED_PY:
        for path in sorted((REPO / top).rglob("*.py")):
            if path.resolve() != THIS and ".venv" not in path.parts:
                files.append((path, _py_texts(path)))
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        files.append((path, _md_texts(path)))
    for path in sorted((REPO / "profiles").glob("*.yaml")):
        files.append((path, _yaml_texts(path)))
    return files


def _resolve(ref: str, origin: Path) -> Path | None:
    ref = ref.rstrip(".")
    candidates = [REPO / ref, origin.parent / ref]
    if "/" not in ref:
        candidates.append(REPO / "docs" / ref)
    for c in candidates:
        c = c.resolve()
        if c.exists() and c.is_relative_to(REPO):
            return c
    return None


@cache
def _headings(doc: Path) -> tuple[tuple[str, str], ...]:
    """(number, title) of every heading; title without backticks or a trailing (...)."""
    out = []
    fenced = False
    for line in doc.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        m = HEADING.match(line)
        if fenced or not m:
            continue
        text = m.group(2).replace("`", "")
        num = NUMBER.match(text)
        number = num.group(1) if num else ""
        title = text[num.end() :].strip() if num else text
        title = re.sub(r"\s*\([^)]*\)$", "", title)
        out.append((number, title))
    return tuple(out)


def _section_ok(doc: Path, after: str) -> bool:
    after = after.replace("`", "").replace('"', "").lstrip()
    num = NUMBER.match(after) or re.match(r"^(\d+(?:\.\d+)*)", after)
    for number, title in _headings(doc):
        if num and number and num.group(1) == number:
            return True
        low = after.lower()
        if title and low.startswith(title.lower()):
            rest = low[len(title) :]
            if not rest or not (rest[0].isalnum() or rest[0] == "_"):
                return True
    return False


def problems() -> list[str]:
    """Every unresolved reference, as ``file:line: what``."""
    found: list[str] = []
    for path, texts in _sources():
        rel = path.relative_to(REPO)
        is_md = path.suffix == ".md"
        for line_no, text in texts:
            where = f"{rel}:{line_no}"
            for m in FILE_REF.finditer(text):
                if PLACEHOLDER.match(m.group(1)):
                    continue
                if _resolve(m.group(1), path) is None:
                    found.append(f"{where}: no file {m.group(1)!r} in the repository")
            last_doc: Path | None = None
            for m in SECTION.finditer(text):
                before = text[: m.start()].rstrip(" `'\"")
                after = text[m.end() :]
                refs = list(FILE_REF.finditer(before))
                doc: Path | None
                if refs and refs[-1].end() >= len(before):
                    doc = _resolve(refs[-1].group(1), path)
                    if doc is None:
                        continue  # already reported as a missing file
                elif re.search(r"RFC ?\d+$", before):
                    continue
                elif last_doc is not None and re.search(r"(,|and|or)$", before):
                    doc = last_doc
                elif (is_md and not re.search(r"[\w.-]$", before)) or (
                    is_md and re.search(r"(see|in|at|and|or)$", before, re.I)
                ):
                    doc = path
                else:
                    word = before.split()[-1] if before.split() else ""
                    found.append(f"{where}: {word!r} §{after[:20]!r} names no document here")
                    continue
                last_doc = doc
                if doc.suffix != ".md" or not _section_ok(doc, after):
                    found.append(
                        f"{where}: {doc.relative_to(REPO)} has no section §{after[:30].strip()!r}"
                    )
    return found


def test_every_reference_resolves_inside_the_repository() -> None:
    found = problems()
    assert not found, f"{len(found)} dangling reference(s):\n" + "\n".join(found)


def test_the_scanner_catches_what_it_should(tmp_path: Path) -> None:
    """The checker is able to fail: an outside doc, a missing section, a missing file."""
    assert _section_ok(REPO / "docs" / "protocol.md", "Book hash: the rule")
    assert not _section_ok(REPO / "docs" / "protocol.md", "Book hashing")
    assert _section_ok(REPO / "docs" / "PRODUCTION_RUNBOOK.md", "4)")
    assert _resolve("docs/design.md", REPO / "README.md") is not None
    assert _resolve("polymarket-protocol.md", REPO / "README.md") is None
    assert _resolve("../shared/docs/design.md", REPO / "docs" / "engine.md") is None
